#!/usr/bin/env bash
# Benchmarks of issue 6: throughput and latency (wrk over loopback), cold start and peak memory of the API's dev server,
# each next to a raw ADO.NET baseline (bench/Baseline). One command; see docs/performance.md.
#
#   bash bench/run.sh [--duration 12] [--rounds 3] [--warmup 3] [--connections 32] [--threads 2] [--coldstart-runs 7]
#                     [--scenarios get,list,post,put] [--env NAME=VALUE]... [--baseline-env NAME=VALUE]...
#                     [--label NAME] [--no-build] [--api-r2r]
#
# --env sets an environment variable for the API server only (its cold start included): that is how the runtime knobs
# of docs/performance.md were tried. The baseline keeps its defaults unless --baseline-env says otherwise.
# --api-r2r runs the API from a ReadyToRun publish (bench/results/publish-r2r) instead of the plain Release build.
# Writes bench/results/latest.json (and bench/results/<label>.json with --label) and prints a table.
set -euo pipefail

bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)

duration=12
rounds=3
warmup=3
connections=32
threads=2
coldstart_runs=7
scenarios=get,list,post,put
label=
build=1
api_r2r=0
users=10000
page_size=20
api_port=${BENCH_API_PORT:-5180}
baseline_port=${BENCH_BASELINE_PORT:-5181}
api_env=()
baseline_env=()

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "bench: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --coldstart-runs) coldstart_runs=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --env) [[ "$2" == *=* ]] || die "--env takes NAME=VALUE"; api_env+=("$2"); shift 2 ;;
    --baseline-env) [[ "$2" == *=* ]] || die "--baseline-env takes NAME=VALUE"; baseline_env+=("$2"); shift 2 ;;
    --label) label=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --api-r2r) api_r2r=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown argument $1" >&2; usage ;;
  esac
done

for n in "$duration" "$rounds" "$warmup" "$connections" "$threads" "$coldstart_runs"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "durations, counts and connections are whole numbers (got '$n')"
done
(( duration >= 1 && duration <= 120 )) || die "--duration must be 1..120 seconds"
(( rounds >= 1 && duration % rounds == 0 )) || die "--duration must be a multiple of --rounds"
round_seconds=$((duration / rounds))
(( warmup <= 60 )) || die "--warmup must be at most 60 seconds"
[[ -z "$label" || "$label" =~ ^[A-Za-z0-9._-]+$ ]] || die "--label may use only A-Z a-z 0-9 . _ -"
IFS=, read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
  [[ "$s" =~ ^(get|list|post|put)$ ]] || die "unknown scenario '$s' (get, list, post, put)"
done

for tool in dotnet wrk curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is required (wrk: apt-get install -y wrk)"
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$api_port" "$baseline_port"; do
  if port_busy "$port"; then
    die "port $port on 127.0.0.1 is already in use; stop whatever listens there or set BENCH_API_PORT / BENCH_BASELINE_PORT"
  fi
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
results="$bench_dir/results"
run_id=$(date -u +%Y%m%dT%H%M%SZ)
work="$results/runs/$run_id"
mkdir -p "$work"

api_bin="$repo/UserFunctions.DevServer/bin/Release/net10.0"
api_dll="$api_bin/UserFunctions.DevServer.dll"
baseline_bin="$bench_dir/Baseline/bin/Release/net10.0"
baseline_dll="$baseline_bin/UserFunctions.Bench.Baseline.dll"
tool_dll="$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll"

pids=()
cleanup() { # stops the servers this script started, by pid
  local pid i
  for pid in "${pids[@]+"${pids[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '==> %s\n' "$*" >&2; }

if (( build )); then
  step "build (Release)"
  for project in UserFunctions.DevServer bench/Baseline bench/Tool; do
    dotnet build "$repo/$project" -c Release --nologo -v q -clp:ErrorsOnly >"$work/build.log" 2>&1 \
      || { cat "$work/build.log" >&2; die "build of $project failed"; }
  done
fi
if (( api_r2r )); then
  step "publish the API with ReadyToRun"
  api_bin="$results/publish-r2r"
  api_dll="$api_bin/UserFunctions.DevServer.dll"
  dotnet publish "$repo/UserFunctions.DevServer" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -o "$api_bin" --nologo -v q -clp:ErrorsOnly >"$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; die "ReadyToRun publish failed"; }
fi
for dll in "$api_dll" "$baseline_dll" "$tool_dll"; do
  [[ -f "$dll" ]] || die "$dll is missing; run without --no-build"
done

step "seed $users users (API migrations, one transaction)"
dotnet "$tool_dll" seed "$work/seed.db" "$users" >&2
cp "$work/seed.db" "$work/api.db"
cp "$work/seed.db" "$work/baseline.db"
cp "$work/seed.db" "$work/coldstart-api.db"
cp "$work/seed.db" "$work/coldstart-baseline.db"
dotnet "$tool_dll" pages api "$users" "$page_size" >"$work/pages-api.txt"
dotnet "$tool_dll" pages baseline "$users" "$page_size" >"$work/pages-baseline.txt"

# Environment of each server. Logging at Warning for both: the API logs every write at Information otherwise.
common_env=(Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning ASPNETCORE_ENVIRONMENT=Production)
server_env() { # <target> <database>
  local target=$1 database=$2
  printf '%s\n' "${common_env[@]}" "ConnectionStrings__Users=Data Source=$database"
  if [[ "$target" == api ]]; then
    (( ${#api_env[@]} == 0 )) || printf '%s\n' "${api_env[@]}"
  else
    (( ${#baseline_env[@]} == 0 )) || printf '%s\n' "${baseline_env[@]}"
  fi
}

start_server() { # <target> <port> <database>; prints the pid
  local target=$1 port=$2 database=$3 bin dll
  if [[ "$target" == api ]]; then bin=$api_bin dll=$api_dll; else bin=$baseline_bin dll=$baseline_dll; fi
  local -a env_args
  mapfile -t env_args < <(server_env "$target" "$database")
  (cd "$bin" && exec env "${env_args[@]}" dotnet "$dll" --urls "http://127.0.0.1:$port") >"$work/$target.log" 2>&1 &
  echo $!
}

wait_healthy() { # <port> <pid>
  local deadline=$((SECONDS + 30))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/api/health")" == 200 ]]; do
    kill -0 "$2" 2>/dev/null || die "server on port $1 exited; see $work"
    (( SECONDS < deadline )) || die "server on port $1 not healthy within 30 s"
    sleep 0.1
  done
}

step "start the API (port $api_port) and the baseline (port $baseline_port)"
api_pid=$(start_server api "$api_port" "$work/api.db")
pids+=("$api_pid")
baseline_pid=$(start_server baseline "$baseline_port" "$work/baseline.db")
pids+=("$baseline_pid")
wait_healthy "$api_port" "$api_pid"
wait_healthy "$baseline_port" "$baseline_pid"

# One request of each scenario against each server, with the status the scenario expects: a run is only valid if both
# servers really do the work (the load itself counts any status of 400 or more as an error).
step "smoke check"
smoke() { # <port> <expected> <method> <path> [body]
  local code
  if [[ $# -ge 5 ]]; then
    code=$(curl -s -o "$work/smoke.out" -w '%{http_code}' -X "$3" -H 'Content-Type: application/json' --data "$5" "http://127.0.0.1:$1$4")
  else
    code=$(curl -s -o "$work/smoke.out" -w '%{http_code}' -X "$3" "http://127.0.0.1:$1$4")
  fi
  [[ "$code" == "$2" ]] || { cat "$work/smoke.out" >&2; die "smoke: $3 $4 on port $1 gave $code, expected $2"; }
}
for target in api baseline; do
  if [[ $target == api ]]; then port=$api_port; else port=$baseline_port; fi
  smoke "$port" 200 GET /api/users/1
  smoke "$port" 200 GET "$(sed -n 2p "$work/pages-$target.txt")"
  smoke "$port" 201 POST /api/users "{\"username\":\"smoke-$target\",\"email\":\"smoke-$target@bench.example\"}"
  smoke "$port" 200 PUT /api/users/2 "{\"username\":\"smoke2-$target\",\"email\":\"smoke2-$target@bench.example\"}"
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# user + nice + system: irq, softirq (loopback networking) and steal belong to no process, so they are left out.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4; exit}' /proc/stat; }
cores=$(nproc)

# The machine may be shared: before each scenario, wait (at most 10 s) until the other processes use under 20% of it,
# and during each measured window count the CPU that neither server nor wrk used ("foreign"), to flag noisy numbers.
wait_quiet() { # prints the seconds waited
  local waited=0 before after
  while (( waited < 10 )); do
    before=$(busy_ticks); sleep 1; after=$(busy_ticks)
    (( (after - before) * 100 < 20 * cores * clk_tck )) && break
    waited=$((waited + 1))
  done
  echo "$waited"
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
clk_tck=$(getconf CLK_TCK)

wrk_args() { # <target> <scenario> <seconds> <tag>; sets the array wrk_cmd
  local target=$1 scenario=$2 seconds=$3 tag=$4 port
  if [[ $target == api ]]; then port=$api_port; else port=$baseline_port; fi
  wrk_cmd=(wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 5s -s "$bench_dir/wrk/$scenario.lua"
    "http://127.0.0.1:$port" -- "$tag" "$users")
  if [[ $scenario == list ]]; then wrk_cmd+=("$work/pages-$target.txt"); fi
}

: >"$work/load.jsonl"
measure() { # <target> <scenario> <round>: one measured wrk window, appended to load.jsonl
  local target=$1 scenario=$2 round=$3 pid before after servers_before servers_after busy_before busy_after line foreign out
  if [[ $target == api ]]; then pid=$api_pid; else pid=$baseline_pid; fi
  out="$work/$target-$scenario-$round"
  before=$(cpu_ticks "$pid")
  servers_before=$(( $(cpu_ticks "$api_pid") + $(cpu_ticks "$baseline_pid") ))
  busy_before=$(busy_ticks)
  wrk_args "$target" "$scenario" "$round_seconds" "m$round$RANDOM$RANDOM"
  /usr/bin/time -f '%U %S' -o "$out.time" "${wrk_cmd[@]}" >"$out.txt"
  busy_after=$(busy_ticks)
  servers_after=$(( $(cpu_ticks "$api_pid") + $(cpu_ticks "$baseline_pid") ))
  after=$(cpu_ticks "$pid")
  line=$(sed -n 's/^BENCH_JSON //p' "$out.txt")
  [[ -n "$line" ]] || { cat "$out.txt" >&2; die "wrk printed no result for $scenario on $target"; }
  kill -0 "$pid" 2>/dev/null || die "$target server died during $scenario; see $work/$target.log"
  foreign=$(awk -v busy=$((busy_after - busy_before)) -v servers=$((servers_after - servers_before)) -v h="$clk_tck" \
    -v wrk="$(tail -n 1 "$out.time")" -v d="$round_seconds" -v n="$cores" \
    'BEGIN {split(wrk, w, " "); f = (busy - servers) / h - w[1] - w[2]; if (f < 0) f = 0; printf "%.1f", 100 * f / (d * n)}')
  printf '{"target":"%s","scenario":"%s","round":%s,"server_cpu_s":%s,"wrk_cpu_s":%s,"foreign_cpu_pct":%s,"rss_kb":%s,"hwm_kb":%s,"wrk":%s}\n' \
    "$target" "$scenario" "$round" "$(awk -v t=$((after - before)) -v h="$clk_tck" 'BEGIN {printf "%.2f", t / h}')" \
    "$(awk '{printf "%.2f", $1 + $2}' <(tail -n 1 "$out.time"))" "$foreign" \
    "$(status_kb "$pid" VmRSS)" "$(status_kb "$pid" VmHWM)" "$line" >>"$work/load.jsonl"
}

for scenario in "${scenario_list[@]}"; do
  step "$scenario: ${warmup} s warm-up each, then $rounds rounds of ${round_seconds} s alternating API and baseline ($threads threads, $connections connections)"
  waited=$(wait_quiet)
  (( waited < 10 )) || echo "bench: warning: the machine stayed busy with other work; numbers may be noisy" >&2
  echo "{\"scenario\":\"$scenario\",\"quiet_wait_s\":$waited}" >>"$work/quiet.jsonl"
  for target in api baseline; do
    if (( warmup > 0 )); then
      wrk_args "$target" "$scenario" "$warmup" "w$RANDOM$RANDOM"
      "${wrk_cmd[@]}" >"$work/$target-$scenario-warmup.txt"
    fi
  done
  # Alternating short rounds: a burst of other work on a shared machine then lands on both servers, not on one.
  for ((round = 1; round <= rounds; round++)); do
    measure api "$scenario" "$round"
    measure baseline "$scenario" "$round"
  done
done

api_hwm=$(status_kb "$api_pid" VmHWM)
baseline_hwm=$(status_kb "$baseline_pid" VmHWM)
# What the resident set is made of at the end: anonymous (GC heap, JIT code, native allocations) vs file-backed (dlls).
rss_parts() { printf '{"rss_kb":%s,"rss_anon_kb":%s,"rss_file_kb":%s}' "$(status_kb "$1" VmRSS)" "$(status_kb "$1" RssAnon)" "$(status_kb "$1" RssFile)"; }
api_rss_parts=$(rss_parts "$api_pid")
baseline_rss_parts=$(rss_parts "$baseline_pid")
cleanup
pids=()

coldstart() { # <target> <port> <database>: one cold start; prints the milliseconds (the tool's last line: the server's own output comes first)
  local target=$1 port=$2 database=$3 bin dll
  if [[ "$target" == api ]]; then bin=$api_bin dll=$api_dll; else bin=$baseline_bin dll=$baseline_dll; fi
  local -a env_args
  mapfile -t env_args < <(server_env "$target" "$database")
  env "${env_args[@]}" dotnet "$tool_dll" coldstart 1 "http://127.0.0.1:$port/api/users/1" "$bin" \
    dotnet "$dll" --urls "http://127.0.0.1:$port" 2>>"$work/coldstart.log" | tail -n 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["median_ms"])'
}
step "cold start: process start to the first 200 from GET /api/users/1, $coldstart_runs runs each, alternating"
wait_quiet >/dev/null
api_cold=() baseline_cold=()
for ((i = 0; i < coldstart_runs; i++)); do
  ms=$(coldstart api "$api_port" "$work/coldstart-api.db") || die "cold start of the API failed; see $work/coldstart.log"
  api_cold+=("$ms")
  ms=$(coldstart baseline "$baseline_port" "$work/coldstart-baseline.db") || die "cold start of the baseline failed; see $work/coldstart.log"
  baseline_cold+=("$ms")
done

git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
# The last commit that changed what was measured (HEAD may only have moved docs), and when the measured dll was built.
code_rev=$(git -C "$repo" log -1 --format=%h -- UserFunctions.Core UserFunctions.DevServer bench Directory.Build.props Directory.Packages.props 2>/dev/null || echo unknown)
api_built=$(date -u -r "$api_dll" +%Y-%m-%dT%H:%M:%SZ)
git_dirty=$(git -C "$repo" status --porcelain -- UserFunctions.Core UserFunctions.DevServer 2>/dev/null | wc -l)
python3 "$bench_dir/report.py" \
  --load "$work/load.jsonl" --quiet "$work/quiet.jsonl" --api-cold "$(IFS=,; echo "${api_cold[*]}")" --baseline-cold "$(IFS=,; echo "${baseline_cold[*]}")" \
  --api-hwm "$api_hwm" --baseline-hwm "$baseline_hwm" --api-rss-parts "$api_rss_parts" --baseline-rss-parts "$baseline_rss_parts" \
  --meta "$(printf '{"run_id":"%s","git":"%s","code_git":"%s","api_dll_built":"%s","core_or_devserver_uncommitted_files":%s,"duration_s":%s,"rounds":%s,"warmup_s":%s,"threads":%s,"connections":%s,"users":%s,"cores":%s,"api_env":"%s","baseline_env":"%s","label":"%s","api_r2r":%s,"loadavg_at_start":"%s"}' \
      "$run_id" "$git_rev" "$code_rev" "$api_built" "$git_dirty" "$duration" "$rounds" "$warmup" "$threads" "$connections" "$users" "$(nproc)" \
      "${api_env[*]-}" "${baseline_env[*]-}" "$label" "$( ((api_r2r)) && echo true || echo false)" "$loadavg_start")" \
  --out "$work/result.json"
cp "$work/result.json" "$results/latest.json"
[[ -n "$label" ]] && cp "$work/result.json" "$results/$label.json"
# Keep the raw output of the last few runs only (databases are the bulk of it).
rm -f "$work"/*.db "$work"/*.db-wal "$work"/*.db-shm
ls -1d "$results"/runs/*/ | head -n -10 | xargs -r rm -rf
echo "results: $results/latest.json (raw: $work)" >&2
