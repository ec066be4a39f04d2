#!/usr/bin/env bash
# Benchmarks of issues 6 and 12: throughput and latency (wrk over loopback), CPU per request, cold start and peak memory
# of the paths users run, each next to a yardstick. One command; see docs/performance.md.
#
#   bash bench/run.sh [--suites sqlite,functions,postgresql] [--duration 12] [--rounds 3] [--warmup 3] [--connections 32]
#                     [--threads 2] [--coldstart-runs 7] [--scenarios get,list,post,put] [--env NAME=VALUE]...
#                     [--baseline-env NAME=VALUE]... [--label NAME] [--no-build] [--api-r2r]
#
# Suites (each: ours next to its yardstick, alternating rounds):
#   sqlite      the dev server on SQLite       next to a raw Microsoft.Data.Sqlite server (bench/Baseline)
#   functions   the Functions app (ReadyToRun publish, as deployed) behind UserFunctions.TestHost
#                                              next to the dev server on the same seeded SQLite database; then cold start
#                                              and worker memory next to bench/EmptyFunctions published the same way
#   postgresql  the dev server on PostgreSQL   next to a raw Npgsql server, same private PostgreSQL cluster
# --env sets an environment variable for "ours" in every suite (the dev server, the Functions worker); --baseline-env
# for the yardsticks. --api-r2r runs the sqlite suite's dev server from a ReadyToRun publish.
# Writes bench/results/latest.json (and bench/results/<label>.json with --label) and prints every table.
set -euo pipefail

bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)

suites=sqlite,functions,postgresql
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
port_a=${BENCH_API_PORT:-5180}
port_b=${BENCH_BASELINE_PORT:-5181}
api_env=()
baseline_env=()

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "bench: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --suites) suites=$2; shift 2 ;;
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
(( coldstart_runs >= 1 )) || die "--coldstart-runs must be at least 1"
[[ -z "$label" || "$label" =~ ^[A-Za-z0-9._-]+$ ]] || die "--label may use only A-Z a-z 0-9 . _ -"
IFS=, read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
  [[ "$s" =~ ^(get|list|post|put)$ ]] || die "unknown scenario '$s' (get, list, post, put)"
done
IFS=, read -r -a suite_list <<<"$suites"
for s in "${suite_list[@]}"; do
  [[ "$s" =~ ^(sqlite|functions|postgresql)$ ]] || die "unknown suite '$s' (sqlite, functions, postgresql)"
done
has_suite() { [[ ",$suites," == *",$1,"* ]]; }

for tool in dotnet wrk curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is required (wrk: apt-get install -y wrk)"
done
pg_bin=
if has_suite postgresql; then
  pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
  [[ -x "$pg_bin/initdb" ]] || die "the postgresql suite needs PostgreSQL's initdb (apt-get install -y postgresql, or PG_BIN=<dir>)"
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$port_a" "$port_b"; do
  if port_busy "$port"; then
    die "port $port on 127.0.0.1 is already in use; stop whatever listens there or set BENCH_API_PORT / BENCH_BASELINE_PORT"
  fi
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$SECONDS
results="$bench_dir/results"
run_id=$(date -u +%Y%m%dT%H%M%SZ)
work="$results/runs/$run_id"
mkdir -p "$work"

devserver_bin="$repo/UserFunctions.DevServer/bin/Release/net10.0"
devserver_dll="$devserver_bin/UserFunctions.DevServer.dll"
api_bin=$devserver_bin
api_dll=$devserver_dll
baseline_bin="$bench_dir/Baseline/bin/Release/net10.0"
baseline_dll="$baseline_bin/UserFunctions.Bench.Baseline.dll"
tool_dll="$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll"
testhost_dll="$repo/UserFunctions.TestHost/bin/Release/net10.0/UserFunctions.TestHost.dll"
functions_bin="$results/publish-functions"
empty_bin="$results/publish-empty-functions"

pids=()
stop_pids() { # stops the given processes (started by this script), by pid, and their children
  local pid i
  for pid in "$@"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
}
pg_data=
pg_stop() {
  [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]] || return 0
  runuser -u postgres -- "$pg_bin/pg_ctl" stop -D "$pg_data" -m immediate -w >/dev/null 2>&1 || true
}
cleanup() {
  stop_pids "${pids[@]+"${pids[@]}"}"
  pids=()
  pg_stop
  [[ -z "$pg_data" ]] || rm -rf "$(dirname "$pg_data")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '==> [%4ds] %s\n' "$((SECONDS - started_at))" "$*" >&2; }

if (( build )); then
  step "build (Release)"
  for project in UserFunctions.DevServer bench/Baseline bench/Tool UserFunctions.TestHost; do
    dotnet build "$repo/$project" -c Release --nologo -v q -clp:ErrorsOnly >"$work/build.log" 2>&1 \
      || { cat "$work/build.log" >&2; die "build of $project failed"; }
  done
  if has_suite functions; then
    # As deployed: framework-dependent linux-x64, ReadyToRun (both projects turn it on for that runtime identifier).
    step "publish the Functions app and the empty app (linux-x64, ReadyToRun)"
    for pair in "UserFunctions:$functions_bin" "bench/EmptyFunctions:$empty_bin"; do
      rm -rf "${pair#*:}"
      dotnet publish "$repo/${pair%%:*}" -c Release -r linux-x64 --self-contained false -o "${pair#*:}" --nologo -v q -clp:ErrorsOnly \
        >"$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; die "publish of ${pair%%:*} failed"; }
    done
  fi
fi
if (( api_r2r )); then
  step "publish the dev server with ReadyToRun"
  api_bin="$results/publish-r2r"
  api_dll="$api_bin/UserFunctions.DevServer.dll"
  dotnet publish "$repo/UserFunctions.DevServer" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -o "$api_bin" --nologo -v q -clp:ErrorsOnly >"$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; die "ReadyToRun publish failed"; }
fi
for dll in "$api_dll" "$devserver_dll" "$baseline_dll" "$tool_dll" "$testhost_dll"; do
  [[ -f "$dll" ]] || die "$dll is missing; run without --no-build"
done
if has_suite functions; then
  [[ -f "$functions_bin/UserFunctions.dll" && -f "$empty_bin/UserFunctions.Bench.EmptyFunctions.dll" ]] \
    || die "the Functions publishes are missing; run without --no-build"
fi

step "seed $users users (API migrations, one transaction)"
dotnet "$tool_dll" seed "$work/seed.db" "$users" >&2
dotnet "$tool_dll" pages api "$users" "$page_size" >"$work/pages-api.txt"
dotnet "$tool_dll" pages baseline "$users" "$page_size" >"$work/pages-baseline.txt"

# A private PostgreSQL cluster (as the tests start one): loopback only, password authentication (a connection string
# without a password would make the API sign in with an Entra token), default durability except synchronous_commit = off,
# so that writes measure CPU rather than this VM's shared disk.
pg_port=
pg_password=bench-$RANDOM$RANDOM
pg_conn() { echo "Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=$pg_password;Database=$1"; }
if has_suite postgresql; then
  step "start a private PostgreSQL cluster ($("$pg_bin/postgres" --version)) and seed it"
  pg_dir=$(mktemp -d /tmp/userfunctions-bench-pg.XXXXXX)
  pg_data="$pg_dir/data"
  chown postgres: "$pg_dir" 2>/dev/null || true
  as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  echo "$pg_password" >"$pg_dir/password"
  chown postgres: "$pg_dir/password" 2>/dev/null || true
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=scram-sha-256 --pwfile="$pg_dir/password" --encoding=UTF8 --locale=C \
    >"$work/pg-initdb.log" 2>&1 || { cat "$work/pg-initdb.log" >&2; die "initdb failed"; }
  rm -f "$pg_dir/password"
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nsynchronous_commit = off\nmax_connections = 200\n" \
    "$pg_port" "$pg_dir" >>"$pg_data/postgresql.conf"
  as_pg "$pg_bin/pg_ctl" start -D "$pg_data" -l "$pg_dir/server.log" -w -t 60 >/dev/null || { cat "$pg_dir/server.log" >&2; die "PostgreSQL did not start"; }
  psql_admin() { as_pg env PGPASSWORD="$pg_password" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q -c "$1"; }
  psql_admin "CREATE DATABASE users_seed"
  dotnet "$tool_dll" seed-postgresql "$(pg_conn users_seed)" "$users" >&2
  # Each server gets its own database, an exact copy of the seeded one.
  psql_admin "CREATE DATABASE users_api TEMPLATE users_seed"
  psql_admin "CREATE DATABASE users_baseline TEMPLATE users_seed"
fi

# Environment of each server. Logging at Warning: the API logs every write at Information otherwise (the Functions app
# keeps its own default, which since issue 12 sends no per-request information log to the host).
common_env=(Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning ASPNETCORE_ENVIRONMENT=Production)
env_of() { # <kind> <database> where kind is devserver | baseline | functions | empty; database is a SQLite file or pg:<name>
  local kind=$1 database=$2
  if [[ $kind != functions && $kind != empty ]]; then printf '%s\n' "${common_env[@]}"; fi
  if [[ $database == pg:* ]]; then
    printf '%s\n' Database__Provider=PostgreSql "ConnectionStrings__Users=$(pg_conn "${database#pg:}")"
  elif [[ -n $database ]]; then
    printf '%s\n' "ConnectionStrings__Users=Data Source=$database"
  fi
  if [[ $kind == baseline || $kind == empty ]]; then
    (( ${#baseline_env[@]} == 0 )) || printf '%s\n' "${baseline_env[@]}"
  else
    (( ${#api_env[@]} == 0 )) || printf '%s\n' "${api_env[@]}"
  fi
}

command_of() { # <kind> <port>: sets the arrays cmd and sets cmd_dir
  case $1 in
    devserver) cmd_dir=$api_bin; cmd=(dotnet "$api_dll" --urls "http://127.0.0.1:$2") ;;
    baseline) cmd_dir=$baseline_bin; cmd=(dotnet "$baseline_dll" --urls "http://127.0.0.1:$2") ;;
    functions) cmd_dir=$functions_bin; cmd=(dotnet "$testhost_dll" --app "$functions_bin" --urls "http://127.0.0.1:$2" --no-auth) ;;
    empty) cmd_dir=$empty_bin; cmd=(dotnet "$testhost_dll" --app "$empty_bin" --urls "http://127.0.0.1:$2" --no-auth) ;;
  esac
}

start_server() { # <kind> <port> <database> <log name>; prints the pid
  local -a env_args cmd
  local cmd_dir
  mapfile -t env_args < <(env_of "$1" "$3")
  command_of "$1" "$2"
  (cd "$cmd_dir" && exec env "${env_args[@]}" "${cmd[@]}") >"$work/$4.log" 2>&1 &
  echo $!
}

wait_ok() { # <url> <pid>
  local deadline=$((SECONDS + 60))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" == 200 ]]; do
    kill -0 "$2" 2>/dev/null || die "the server for $1 exited; see $work"
    (( SECONDS < deadline )) || die "no 200 from $1 within 60 s"
    sleep 0.1
  done
}

children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'; }

# One request of each scenario, with the status the scenario expects: a run is only valid if both servers really do the
# work (the load itself counts any status of 400 or more as an error).
smoke() { # <port> <expected> <method> <path> [body]
  local code
  if [[ $# -ge 5 ]]; then
    code=$(curl -s -o "$work/smoke.out" -w '%{http_code}' -X "$3" -H 'Content-Type: application/json' --data "$5" "http://127.0.0.1:$1$4")
  else
    code=$(curl -s -o "$work/smoke.out" -w '%{http_code}' -X "$3" "http://127.0.0.1:$1$4")
  fi
  [[ "$code" == "$2" ]] || { cat "$work/smoke.out" >&2; die "smoke: $3 $4 on port $1 gave $code, expected $2"; }
}
smoke_all() { # <port> <pages file> <tag>
  smoke "$1" 200 GET /api/users/1
  smoke "$1" 200 GET "$(sed -n 2p "$2")"
  smoke "$1" 201 POST /api/users "{\"username\":\"smoke-$3\",\"email\":\"smoke-$3@bench.example\"}"
  smoke "$1" 200 PUT /api/users/2 "{\"username\":\"smoke2-$3\",\"email\":\"smoke2-$3@bench.example\"}"
}

clk_tck=$(getconf CLK_TCK)
cores=$(nproc)
ticks_of() { # <pid>...: user + system CPU ticks of these processes (0 for one that is gone)
  local total=0 pid t
  for pid in "$@"; do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
# user + nice + system: irq, softirq (loopback networking) and steal belong to no process, so they are left out.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4; exit}' /proc/stat; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# All CPU PostgreSQL has used so far: the postmaster's own and its reaped children's (cutime + cstime), plus its live
# backends'. A backend that exits between two samples moves from the second term to the first, so differences hold.
postgres_ticks() {
  [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]] || { echo 0; return; }
  local main live
  main=$(head -n 1 "$pg_data/postmaster.pid")
  mapfile -t live < <(children_of "$main")
  echo $(( $(awk '{print $14 + $15 + $16 + $17}' "/proc/$main/stat") + $(ticks_of "${live[@]+"${live[@]}"}") ))
}

# The machine may be shared: before each scenario, wait (at most 10 s) until the other processes use under 20% of it,
# and during each measured window count the CPU that neither the servers, the database nor wrk used ("foreign").
wait_quiet() { # prints the seconds waited
  local waited=0 before after
  while (( waited < 10 )); do
    before=$(busy_ticks); sleep 1; after=$(busy_ticks)
    (( (after - before) * 100 < 20 * cores * clk_tck )) && break
    waited=$((waited + 1))
  done
  echo "$waited"
}

wrk_args() { # <port> <scenario> <seconds> <tag> <pages file>; sets the array wrk_cmd
  wrk_cmd=(wrk -t "$threads" -c "$connections" -d "${3}s" --timeout 5s -s "$bench_dir/wrk/$2.lua" "http://127.0.0.1:$1" -- "$4" "$users")
  if [[ $2 == list ]]; then wrk_cmd+=("$5"); fi
}

: >"$work/load.jsonl"
: >"$work/quiet.jsonl"
: >"$work/memory.jsonl"
# The current suite: slot a is ours, slot b the yardstick. cpu_x: pids whose CPU counts for the slot; rss_x: the pid whose
# memory is reported (the worker, for the Functions app).
measure() { # <suite> <slot> <scenario> <round>: one measured wrk window, appended to load.jsonl
  local suite=$1 slot=$2 scenario=$3 round=$4 port pages before after others_before others_after busy_before busy_after db_before db_after
  local line foreign out rss_pid pid parts=
  local -a own all parts_before=()
  if [[ $slot == a ]]; then port=$port_a pages=$pages_a own=($cpu_a) rss_pid=$rss_a; else port=$port_b pages=$pages_b own=($cpu_b) rss_pid=$rss_b; fi
  all=($cpu_a $cpu_b)
  out="$work/$suite-$slot-$scenario-$round"
  for pid in "${own[@]}"; do parts_before+=("$(ticks_of "$pid")"); done
  before=$(ticks_of "${own[@]}")
  others_before=$(ticks_of "${all[@]}")
  db_before=$(postgres_ticks)
  busy_before=$(busy_ticks)
  wrk_args "$port" "$scenario" "$round_seconds" "m$round$RANDOM$RANDOM" "$pages"
  /usr/bin/time -f '%U %S' -o "$out.time" "${wrk_cmd[@]}" >"$out.txt"
  busy_after=$(busy_ticks)
  db_after=$(postgres_ticks)
  others_after=$(ticks_of "${all[@]}")
  after=$(ticks_of "${own[@]}")
  # Per process of the slot (the Functions app: the test host, then the worker).
  for i in "${!own[@]}"; do
    parts+="${parts:+,}$(awk -v t=$(( $(ticks_of "${own[$i]}") - parts_before[i] )) -v h="$clk_tck" 'BEGIN {printf "%.2f", t / h}')"
  done
  line=$(sed -n 's/^BENCH_JSON //p' "$out.txt")
  [[ -n "$line" ]] || { cat "$out.txt" >&2; die "wrk printed no result for $suite $scenario on $slot"; }
  kill -0 "$rss_pid" 2>/dev/null || die "$suite/$slot died during $scenario; see $work"
  foreign=$(awk -v busy=$((busy_after - busy_before)) -v servers=$((others_after - others_before + db_after - db_before)) -v h="$clk_tck" \
    -v wrk="$(tail -n 1 "$out.time")" -v d="$round_seconds" -v n="$cores" \
    'BEGIN {split(wrk, w, " "); f = (busy - servers) / h - w[1] - w[2]; if (f < 0) f = 0; printf "%.1f", 100 * f / (d * n)}')
  printf '{"suite":"%s","target":"%s","scenario":"%s","round":%s,"server_cpu_s":%s,"server_cpu_parts_s":[%s],"database_cpu_s":%s,"wrk_cpu_s":%s,"foreign_cpu_pct":%s,"rss_kb":%s,"hwm_kb":%s,"wrk":%s}\n' \
    "$suite" "$slot" "$scenario" "$round" "$(awk -v t=$((after - before)) -v h="$clk_tck" 'BEGIN {printf "%.2f", t / h}')" "$parts" \
    "$(awk -v t=$((db_after - db_before)) -v h="$clk_tck" 'BEGIN {printf "%.2f", t / h}')" \
    "$(awk '{printf "%.2f", $1 + $2}' <(tail -n 1 "$out.time"))" "$foreign" \
    "$(status_kb "$rss_pid" VmRSS)" "$(status_kb "$rss_pid" VmHWM)" "$line" >>"$work/load.jsonl"
}

# What the resident set is made of at the end: anonymous (GC heap, JIT code, native allocations) vs file-backed (dlls).
memory_of() { # <suite> <slot> <pid>
  printf '{"suite":"%s","target":"%s","hwm_kb":%s,"rss_kb":%s,"rss_anon_kb":%s,"rss_file_kb":%s}\n' "$1" "$2" \
    "$(status_kb "$3" VmHWM)" "$(status_kb "$3" VmRSS)" "$(status_kb "$3" RssAnon)" "$(status_kb "$3" RssFile)" >>"$work/memory.jsonl"
}

run_load() { # <suite>: warm-up, then alternating rounds of each scenario
  local suite=$1 scenario slot port pages waited round
  for scenario in "${scenario_list[@]}"; do
    step "$suite/$scenario: ${warmup} s warm-up each, then $rounds rounds of ${round_seconds} s alternating ($threads threads, $connections connections)"
    waited=$(wait_quiet)
    (( waited < 10 )) || echo "bench: warning: the machine stayed busy with other work; numbers may be noisy" >&2
    echo "{\"suite\":\"$suite\",\"scenario\":\"$scenario\",\"quiet_wait_s\":$waited}" >>"$work/quiet.jsonl"
    for slot in a b; do
      if (( warmup > 0 )); then
        if [[ $slot == a ]]; then port=$port_a pages=$pages_a; else port=$port_b pages=$pages_b; fi
        wrk_args "$port" "$scenario" "$warmup" "w$RANDOM$RANDOM" "$pages"
        "${wrk_cmd[@]}" >"$work/$suite-$slot-$scenario-warmup.txt"
      fi
    done
    # Alternating short rounds: a burst of other work on a shared machine then lands on both servers, not on one.
    for ((round = 1; round <= rounds; round++)); do
      measure "$suite" a "$scenario" "$round"
      measure "$suite" b "$scenario" "$round"
    done
  done
}

coldstart_once() { # <kind> <port> <database> <path>: one cold start; prints the tool's JSON line
  local -a env_args cmd
  local cmd_dir
  mapfile -t env_args < <(env_of "$1" "$3")
  command_of "$1" "$2"
  env "${env_args[@]}" dotnet "$tool_dll" coldstart 1 "http://127.0.0.1:$2$4" "$cmd_dir" "${cmd[@]}" 2>>"$work/coldstart.log" | tail -n 1
}
coldstarts() { # <suite> <kind a> <database a> <path a> <kind b> <database b> <path b>: alternating runs, into coldstart.jsonl
  local i line
  for ((i = 1; i <= coldstart_runs; i++)); do
    line=$(coldstart_once "$2" "$port_a" "$3" "$4") || die "cold start of $2 failed; see $work/coldstart.log"
    echo "{\"suite\":\"$1\",\"target\":\"a\",\"run\":$i,\"result\":$line}" >>"$work/coldstart.jsonl"
    line=$(coldstart_once "$5" "$port_b" "$6" "$7") || die "cold start of $5 failed; see $work/coldstart.log"
    echo "{\"suite\":\"$1\",\"target\":\"b\",\"run\":$i,\"result\":$line}" >>"$work/coldstart.jsonl"
  done
}
: >"$work/coldstart.jsonl"

for suite in "${suite_list[@]}"; do
  case $suite in
    sqlite)
      cp "$work/seed.db" "$work/sqlite-a.db"; cp "$work/seed.db" "$work/sqlite-b.db"
      kind_a=devserver db_a="$work/sqlite-a.db" kind_b=baseline db_b="$work/sqlite-b.db"
      pages_a="$work/pages-api.txt" pages_b="$work/pages-baseline.txt" ;;
    functions)
      cp "$work/seed.db" "$work/functions-a.db"; cp "$work/seed.db" "$work/functions-b.db"
      kind_a=functions db_a="$work/functions-a.db" kind_b=devserver db_b="$work/functions-b.db"
      pages_a="$work/pages-api.txt" pages_b="$work/pages-api.txt" ;;
    postgresql)
      kind_a=devserver db_a=pg:users_api kind_b=baseline db_b=pg:users_baseline
      pages_a="$work/pages-api.txt" pages_b="$work/pages-baseline.txt" ;;
  esac

  step "$suite: start $kind_a (port $port_a) and $kind_b (port $port_b)"
  pid_a=$(start_server "$kind_a" "$port_a" "$db_a" "$suite-a")
  pids+=("$pid_a")
  pid_b=$(start_server "$kind_b" "$port_b" "$db_b" "$suite-b")
  pids+=("$pid_b")
  wait_ok "http://127.0.0.1:$port_a/api/health" "$pid_a"
  wait_ok "http://127.0.0.1:$port_b/api/health" "$pid_b"
  cpu_a=$pid_a rss_a=$pid_a cpu_b=$pid_b rss_b=$pid_b
  if [[ $kind_a == functions ]]; then
    worker=$(children_of "$pid_a" | head -n 1)
    [[ -n $worker ]] || die "no worker process under the test host"
    cpu_a="$pid_a $worker" rss_a=$worker
  fi
  smoke_all "$port_a" "$pages_a" "$suite-a"
  smoke_all "$port_b" "$pages_b" "$suite-b"

  run_load "$suite"
  memory_of "$suite" a "$rss_a"
  memory_of "$suite" b "$rss_b"
  stop_pids "$pid_a" "$pid_b"
  pids=()

  if [[ $suite == functions ]]; then
    # The empty app under the same load (its hello function), for the worker's peak memory next to ours.
    step "functions: the empty app under the same load (${warmup} s + ${duration} s of GET /api/hello)"
    pid_e=$(start_server empty "$port_b" "" functions-empty)
    pids+=("$pid_e")
    wait_ok "http://127.0.0.1:$port_b/api/hello" "$pid_e"
    worker_e=$(children_of "$pid_e" | head -n 1)
    [[ -n $worker_e ]] || die "no worker process under the test host (empty app)"
    wrk_args "$port_b" hello "$((warmup + duration))" "e$RANDOM" ""
    "${wrk_cmd[@]}" >"$work/functions-empty-hello.txt"
    memory_of functions empty "$worker_e"
    stop_pids "$pid_e"
    pids=()
  fi

  case $suite in
    sqlite)
      step "sqlite: cold start, process start to the first 200 from GET /api/users/1, $coldstart_runs runs each, alternating"
      wait_quiet >/dev/null
      cp "$work/seed.db" "$work/cold-a.db"; cp "$work/seed.db" "$work/cold-b.db"
      coldstarts sqlite devserver "$work/cold-a.db" /api/users/1 baseline "$work/cold-b.db" /api/users/1 ;;
    functions)
      step "functions: cold start through the test host (worker launch to the first 200), $coldstart_runs runs each, alternating"
      wait_quiet >/dev/null
      cp "$work/seed.db" "$work/cold-f.db"
      coldstarts functions functions "$work/cold-f.db" /api/users/1 empty "" /api/hello ;;
  esac
done

git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
# The last commit that changed what was measured (HEAD may only have moved docs), and when the measured dll was built.
code_rev=$(git -C "$repo" log -1 --format=%h -- UserFunctions.Core UserFunctions.DevServer UserFunctions bench Directory.Build.props Directory.Packages.props 2>/dev/null || echo unknown)
api_built=$(date -u -r "$api_dll" +%Y-%m-%dT%H:%M:%SZ)
git_dirty=$(git -C "$repo" status --porcelain -- UserFunctions.Core UserFunctions.DevServer UserFunctions 2>/dev/null | wc -l)
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
python3 "$bench_dir/report.py" \
  --load "$work/load.jsonl" --quiet "$work/quiet.jsonl" --memory "$work/memory.jsonl" --coldstart "$work/coldstart.jsonl" \
  --meta "$(printf '{"run_id":"%s","git":"%s","code_git":"%s","api_dll_built":"%s","uncommitted_app_files":%s,"suites":"%s","duration_s":%s,"rounds":%s,"warmup_s":%s,"threads":%s,"connections":%s,"users":%s,"cores":%s,"api_env":"%s","baseline_env":"%s","label":"%s","api_r2r":%s,"loadavg_at_start":"%s","loadavg_at_end":"%s","wall_s":%s}' \
      "$run_id" "$git_rev" "$code_rev" "$api_built" "$git_dirty" "$suites" "$duration" "$rounds" "$warmup" "$threads" "$connections" "$users" "$cores" \
      "${api_env[*]-}" "${baseline_env[*]-}" "$label" "$( ((api_r2r)) && echo true || echo false)" "$loadavg_start" "$loadavg_end" "$((SECONDS - started_at))")" \
  --out "$work/result.json"
cp "$work/result.json" "$results/latest.json"
[[ -n "$label" ]] && cp "$work/result.json" "$results/$label.json"
# Keep the raw output of the last few runs only (databases are the bulk of it).
rm -f "$work"/*.db "$work"/*.db-wal "$work"/*.db-shm
ls -1d "$results"/runs/*/ | head -n -10 | xargs -r rm -rf
echo "results: $results/latest.json (raw: $work)" >&2
