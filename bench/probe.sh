#!/usr/bin/env bash
# Splits the API's cost of a read (and of a PUT and a POST) into layers: one process (the bench tool's "probe" server) serves the same read as
# Core's handler, as a plain endpoint over Core's pooled context with a compiled query, with a LINQ query, and over raw
# Microsoft.Data.Sqlite. Each is driven by wrk in alternating rounds; the table gives requests/s and server CPU per
# request (the robust number on a shared machine). With --database postgresql the server starts the benchmark's private
# PostgreSQL cluster (as bench/run.sh's postgresql suite does) and serves GET by id as Core, as EF over contexts configured
# like Core's with one connection setting changed each, and as raw Npgsql; the table adds PostgreSQL's CPU per request.
# See docs/performance.md.
#   bash bench/probe.sh [--database sqlite|postgresql] [--seconds 4] [--rounds 3] [--only name,name] [--no-build]
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
seconds=4 rounds=3 build=1 only= database=sqlite port=${BENCH_PROBE_PORT:-5182}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --database) database=$2; shift 2 ;;
    *) echo "probe: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ && "$rounds" =~ ^[0-9]+$ ]] && (( seconds >= 1 && seconds <= 30 && rounds >= 1 && rounds <= 10 )) \
  || { echo "probe: --seconds 1..30, --rounds 1..10" >&2; exit 2; }
[[ $database == sqlite || $database == postgresql ]] || { echo "probe: --database sqlite|postgresql" >&2; exit 2; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "probe: port $port is in use (BENCH_PROBE_PORT)" >&2; exit 1
fi

tool_dll="$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll"
work="$bench_dir/results/probe"
mkdir -p "$work"
(( build )) && dotnet build "$bench_dir/Tool" -c Release --nologo -v q -clp:ErrorsOnly >&2
if [[ $database == postgresql ]]; then
  # The server starts the cluster, seeds it and writes the postmaster's pid; the cluster stops when the server exits.
  rm -f "$work/postmaster.pid"
  env Logging__LogLevel__Default=Warning dotnet "$tool_dll" probe-postgresql "$port" "$work/postmaster.pid" >"$work/probe.log" 2>&1 &
else
  dotnet "$tool_dll" seed "$work/probe.db" 10000 >&2
  env Logging__LogLevel__Default=Warning dotnet "$tool_dll" probe "$port" "$work/probe.db" >"$work/probe.log" 2>&1 &
fi
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
deadline=$((SECONDS + 180))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/health")" == 200 ]]; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/probe.log" >&2; exit 1; }
  (( SECONDS < deadline )) || { echo "probe: server not up in 180 s" >&2; exit 1; }
  sleep 0.1
done
postmaster=$( [[ $database == postgresql ]] && cat "$work/postmaster.pid" || echo 0)
# All CPU ticks PostgreSQL has used so far: the postmaster's own and its reaped backends', plus its live backends'.
postgres_ticks() {
  (( postmaster )) || { echo 0; return; }
  local total children child
  total=$(awk '{sub(/.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$postmaster/stat")
  children=$(cat /proc/"$postmaster"/task/*/children 2>/dev/null || true)
  for child in $children; do
    total=$((total + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
echo "/api/users?limit=20" >"$work/list-api.txt"
echo "/probe/ef-list-compiled" >"$work/list-compiled.txt"

# name, wrk script, prefix or paths file
if [[ $database == postgresql ]]; then variants=(
  "core-get get /api/users/"
  "ef-compiled-get get /probe/ef-compiled/"
  "ef-linq-get get /probe/ef-linq/"
  "ef-connection-raw-get get /probe/ef-connection-raw/"
  "ado-with-context-get get /probe/ado-with-context/"
  "ado-get get /probe/ado/"
  "ef-as-core-get get /probe/ef-as-core/"
  "ef-no-retry-get get /probe/ef-no-retry/"
  "ef-in-strategy-get get /probe/ef-in-strategy/"
  "ef-no-logging-get get /probe/ef-no-logging/"
  "ef-connection-string-get get /probe/ef-connection-string/"
  "ef-reset-get get /probe/ef-reset/"
  "ado-reset-get get /probe/ado-reset/"
  "ef-unprepared-get get /probe/ef-unprepared/"
  "ado-unprepared-get get /probe/ado-unprepared/"
  "ef-npgsql-defaults-get get /probe/ef-npgsql-defaults/"
  "ef-npgsql-defaults-no-retry-get get /probe/ef-npgsql-defaults-no-retry/"
  "ado-npgsql-defaults-get get /probe/ado-npgsql-defaults/"
)
else variants=(
  "core-get get /api/users/"
  "ef-compiled-get get /probe/ef-compiled/"
  "ef-compiled-closing-get get /probe/ef-compiled-closing/"
  "ef-linq-get get /probe/ef-linq/"
  "ef-connection-raw-get get /probe/ef-connection-raw/"
  "ado-with-context-get get /probe/ado-with-context/"
  "ado-get get /probe/ado/"
  "core-list list $work/list-api.txt"
  "ef-compiled-list list $work/list-compiled.txt"
  "core-put put /api/users/"
  "execute-update-put put /probe/put-execute-update/"
  "update-only-put put /probe/put-update-only/"
  "core-post post /api/users"
  "ef-insert-post post /probe/post-ef-insert"
  "ado-post post /probe/post-ado"
  "ado-put put /probe/put-ado/"
)
fi
if [[ -n $only ]]; then
  kept=()
  for v in "${variants[@]}"; do [[ ",$only," == *",${v%% *},"* ]] && kept+=("$v"); done
  (( ${#kept[@]} > 0 )) || { echo "probe: --only matched no variant" >&2; exit 2; }
  variants=("${kept[@]}")
fi
run() { # <name> <script> <arg> <seconds>
  if [[ $2 == get ]]; then
    BENCH_GET_PREFIX=$3 wrk -t 2 -c 32 -d "${4}s" -s "$bench_dir/wrk/get.lua" "http://127.0.0.1:$port" -- "p$RANDOM" 10000
  elif [[ $2 == post ]]; then
    BENCH_POST_PATH=$3 wrk -t 2 -c 32 -d "${4}s" -s "$bench_dir/wrk/post.lua" "http://127.0.0.1:$port" -- "p$RANDOM$RANDOM" 10000
  elif [[ $2 == put ]]; then
    BENCH_PUT_PREFIX=$3 wrk -t 2 -c 32 -d "${4}s" -s "$bench_dir/wrk/put.lua" "http://127.0.0.1:$port" -- "p$RANDOM$RANDOM" 10000
  else
    wrk -t 2 -c 32 -d "${4}s" -s "$bench_dir/wrk/list.lua" "http://127.0.0.1:$port" -- "p$RANDOM" 10000 "$3"
  fi
}
for v in "${variants[@]}"; do
  read -r name script arg <<<"$v"
  if [[ $script == put ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
      --data "{\"username\":\"probe-$name\",\"email\":\"probe-$name@bench.example\"}" "http://127.0.0.1:$port${arg}3")
  elif [[ $script == post ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data "{\"username\":\"probe-$name\",\"email\":\"probe-$name@bench.example\"}" "http://127.0.0.1:$port$arg")
    [[ "$code" == 201 ]] && code=200
  else
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$( [[ $script == get ]] && echo "${arg}1" || head -n 1 "$arg")")
  fi
  [[ "$code" == 200 ]] || { echo "probe: $name answered $code, not 200" >&2; exit 1; }
  run "$name" "$script" "$arg" 3 >/dev/null
done
: >"$work/probe.jsonl"
for ((round = 1; round <= rounds; round++)); do
  for v in "${variants[@]}"; do
    read -r name script arg <<<"$v"
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat") db_before=$(postgres_ticks)
    line=$(run "$name" "$script" "$arg" "$seconds" | sed -n 's/^BENCH_JSON //p')
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat") db_after=$(postgres_ticks)
    echo "{\"name\":\"$name\",\"round\":$round,\"cpu_ticks\":$((after - before)),\"db_ticks\":$((db_after - db_before)),\"wrk\":$line}" >>"$work/probe.jsonl"
  done
done
python3 - "$work/probe.jsonl" "$(getconf CLK_TCK)" "$database" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hz = int(sys.argv[2])
postgres = sys.argv[3] == "postgresql"
names = list(dict.fromkeys(r["name"] for r in rows))
print("| variant | req/s | p50 ms | server CPU ms / request |" + (" PostgreSQL CPU ms / request |" if postgres else "") + " errors |")
print("|---|---:|---:|---:|" + ("---:|" if postgres else "") + "---:|")
for n in names:
    rs = [r for r in rows if r["name"] == n]
    req = sum(r["wrk"]["requests"] for r in rs)
    sec = sum(r["wrk"]["duration_s"] for r in rs)
    cpu = sum(r["cpu_ticks"] for r in rs) / hz
    p50 = sorted(r["wrk"]["latency_ms"]["p50"] for r in rs)[len(rs) // 2]
    err = sum(r["wrk"]["non2xx"] + sum(r["wrk"]["errors"].values()) for r in rs)
    db = f" {1000 * sum(r['db_ticks'] for r in rs) / hz / req:.3f} |" if postgres else ""
    print(f"| {n} | {req / sec:,.0f} | {p50:.2f} | {1000 * cpu / req:.3f} |{db} {err} |")
PY
