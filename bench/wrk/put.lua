-- PUT /api/users/{id} (full replacement, no If-Match) on a random seeded user, with a username and email no other request uses.
-- BENCH_PUT_PREFIX replaces "/api/users/" (bench/probe.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

prefix = os.getenv("BENCH_PUT_PREFIX") or "/api/users/"

function request()
  return wrk.format("PUT", prefix .. random_id(), json_headers, unique_user_body())
end
