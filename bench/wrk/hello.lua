-- GET /api/hello of bench/EmptyFunctions: the same load on the yardstick app, for its peak memory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format("GET", "/api/hello")
end
