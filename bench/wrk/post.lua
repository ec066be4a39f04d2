-- POST /api/users with a username and email no other request uses.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format("POST", "/api/users", json_headers, unique_user_body())
end
