-- POST /api/users as post.lua, with an Idempotency-Key no other request uses: what a key costs next to the unkeyed POST.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  local body = unique_user_body()
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = '"k' .. body:match('"username":"([^"]+)"') .. '"' }
  return wrk.format("POST", "/api/users", headers, body)
end
