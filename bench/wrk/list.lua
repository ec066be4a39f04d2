-- GET one page of the user list: a random line of the paths file (one request path per line, each a page of 20).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function request()
  return wrk.format("GET", paths[math.random(1, #paths)])
end
