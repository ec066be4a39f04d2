-- POST /api/users with a username and email no other request uses. BENCH_POST_PATH replaces "/api/users" (bench/probe.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

path = os.getenv("BENCH_POST_PATH") or "/api/users"

function request()
  return wrk.format("POST", path, json_headers, unique_user_body())
end
