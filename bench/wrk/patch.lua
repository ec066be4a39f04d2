-- PATCH /api/users/{id} (JSON merge patch of the username alone, no If-Match) on a random seeded user, with a username no
-- other request uses: the email and createdAt of the response come from the stored row. BENCH_PATCH_PREFIX replaces
-- "/api/users/" (bench/probe.sh).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

prefix = os.getenv("BENCH_PATCH_PREFIX") or "/api/users/"
local headers = { ["Content-Type"] = "application/merge-patch+json" }

function request()
  counter = counter + 1
  local name = string.format("b%s-%d-%d-%d", tag, id or 0, counter, math.random(0, 999999))
  return wrk.format("PATCH", prefix .. random_id(), headers, string.format('{"username":"%s"}', name))
end
