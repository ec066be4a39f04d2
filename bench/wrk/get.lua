-- GET /api/users/{id} with an id drawn uniformly from the seeded users. BENCH_GET_PREFIX replaces "/api/users/" (bench/probe.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

prefix = os.getenv("BENCH_GET_PREFIX") or "/api/users/"

function request()
  return wrk.format("GET", prefix .. random_id())
end
