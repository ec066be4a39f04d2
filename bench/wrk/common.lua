-- Shared by the scenario scripts: thread ids, per-run tags, random ids, and a done() that prints one JSON line.
-- Script arguments (after `--` on the wrk command line): <tag> <user count> [paths file]

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  tag = args[1] or tostring(os.time())
  users = tonumber(args[2]) or 10000
  paths_file = args[3]
  counter = 0
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
  if paths_file then
    paths = {}
    for line in io.lines(paths_file) do
      if #line > 0 then paths[#paths + 1] = line end
    end
  end
end

function random_id()
  return math.random(1, users)
end

-- A username no other request of this benchmark run uses: run tag, thread id, per-thread counter, random suffix.
function unique_user_body()
  counter = counter + 1
  local name = string.format("b%s-%d-%d-%d", tag, id or 0, counter, math.random(0, 999999))
  return string.format('{"username":"%s","email":"%s@bench.example"}', name, name)
end

json_headers = { ["Content-Type"] = "application/json" }

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"latency_ms":{"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f},' ..
    '"non2xx":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
