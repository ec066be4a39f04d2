-- PUT /api/users/{id} (full replacement, no If-Match) on a random seeded user, with a username and email no other request uses.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format("PUT", "/api/users/" .. random_id(), json_headers, unique_user_body())
end
