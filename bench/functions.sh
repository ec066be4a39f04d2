#!/usr/bin/env bash
# The Functions app's cost per request next to the dev server's (issue 9): the same Release build of Core, the same seeded
# SQLite database, GET by id, POST and PUT through wrk on loopback. The Functions app runs as a worker behind
# UserFunctions.TestHost, so the figures include the worker's invocation pipeline and the host's proxy hop; they leave out
# what the real host adds (docs/performance.md). Rounds alternate between the two so load spikes hit both. Needs wrk.
# Usage: bash bench/functions.sh [seconds per window, default 10] [rounds, default 2]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-10}" rounds="${2:-2}" users=10000
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]+"${pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '==> %s\n' "$*" >&2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

step "build (Release)"
for project in UserFunctions.DevServer UserFunctions UserFunctions.TestHost bench/Tool; do
  dotnet build "$repo/$project" -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
done

step "seed $users users"
dotnet "$repo/bench/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll" seed "$work/seed.db" "$users" >&2
cp "$work/seed.db" "$work/devserver.db"
cp "$work/seed.db" "$work/functions.db"

wait_for() { # <url>: until it answers 200, at most 60 s
  for _ in $(seq 1 600); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]] && return
    sleep 0.1
  done
  echo "no 200 from $1" >&2
  exit 1
}

step "start the dev server and the Functions app (test host, no keys)"
ConnectionStrings__Users="Data Source=$work/devserver.db" Logging__LogLevel__Default=Warning \
  dotnet "$repo/UserFunctions.DevServer/bin/Release/net10.0/UserFunctions.DevServer.dll" --urls http://127.0.0.1:5091 \
  >"$work/devserver.log" 2>&1 &
pids+=($!)
ConnectionStrings__Users="Data Source=$work/functions.db" \
  dotnet "$repo/UserFunctions.TestHost/bin/Release/net10.0/UserFunctions.TestHost.dll" \
  --app "$repo/UserFunctions/bin/Release/net10.0" --urls http://127.0.0.1:5092 --no-auth >"$work/functions.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:5091/api/health
wait_for http://127.0.0.1:5092/api/health

run() { # <port> <scenario>: one wrk window; prints "rps p50 p99 non2xx"
  wrk -t 2 -c 32 -d "${seconds}s" --timeout 5s -s "$repo/bench/wrk/$2.lua" "http://127.0.0.1:$1" -- "$(date +%s%N)" "$users" \
    | sed -n 's/^BENCH_JSON //p' \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["rps"], r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["non2xx"])'
}

step "warm up"
for port in 5091 5092; do wrk -t 1 -c 4 -d 3s -s "$repo/bench/wrk/get.lua" "http://127.0.0.1:$port" -- warm "$users" >/dev/null; done

printf '\n%-6s %-10s %10s %9s %9s %7s\n' scenario host req/s p50_ms p99_ms non2xx
for round in $(seq 1 "$rounds"); do
  for scenario in get post put; do
    for target in devserver:5091 functions:5092; do
      read -r rps p50 p99 bad < <(run "${target#*:}" "$scenario")
      printf '%-6s %-10s %10.0f %9.2f %9.2f %7s   (round %s)\n' "$scenario" "${target%%:*}" "$rps" "$p50" "$p99" "$bad" "$round"
    done
  done
done
