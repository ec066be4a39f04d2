-- GET /api/users/{id} with an id drawn uniformly from the seeded users.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format("GET", "/api/users/" .. random_id())
end
