#!/usr/bin/env bash
# Cold starts of the Functions app through UserFunctions.TestHost under different settings, next to the empty app, the
# variants alternating run by run. Each figure is worker launch -> first 200 (the host's own start left out), median of N,
# and the worker's CPU time until then.
# Needs the publishes bench/run.sh makes (bash bench/run.sh --suites functions, or a full run); the composite ReadyToRun
# variant only after `dotnet publish UserFunctions -c Release -r linux-x64 --self-contained false
# -p:PublishReadyToRunComposite=true -o bench/results/publish-functions-composite`.
#   bash bench/coldstart-functions.sh [runs]     (default 5)
#   BENCH_VARIANTS=empty-app,default,tiered-pgo-off bash bench/coldstart-functions.sh 5     (a subset, empty-app included)
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
runs=${1:-5}
[[ "$runs" =~ ^[0-9]+$ ]] && (( runs >= 1 && runs <= 21 )) || { echo "runs: 1..21" >&2; exit 2; }
port=${BENCH_COLDSTART_PORT:-5183}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi

tool_dll="$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll"
testhost_dll="$repo/UserFunctions.TestHost/bin/Release/net10.0/UserFunctions.TestHost.dll"
published="$bench_dir/results/publish-functions"
empty="$bench_dir/results/publish-empty-functions"
plain="$repo/UserFunctions/bin/Release/net10.0"
composite="$bench_dir/results/publish-functions-composite"
for f in "$tool_dll" "$testhost_dll" "$published/UserFunctions.dll" "$empty/UserFunctions.Bench.EmptyFunctions.dll"; do
  [[ -f $f ]] || { echo "$f is missing: run bash bench/run.sh --suites functions first" >&2; exit 1; }
done
work="$bench_dir/results/coldstart-functions"
mkdir -p "$work"
dotnet "$tool_dll" seed "$work/cold.db" 10000 >&2

# A connection string whose endpoint refuses connections: the SDK starts as in Azure and sends nothing anywhere.
insights="InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
# name | app folder | path of the first request | extra environment (space-separated NAME=VALUE)
variants=(
  "empty-app|$empty|/api/hello|"
  "default|$published|/api/users/1|"
  "first-request-openapi|$published|/api/openapi.json|"
  "no-migration-check|$published|/api/users/1|Database__MigrateOnStartup=false"
  "no-migration-check-openapi|$published|/api/openapi.json|Database__MigrateOnStartup=false"
  "app-insights-on|$published|/api/users/1|APPLICATIONINSIGHTS_CONNECTION_STRING=$insights"
  "tiered-pgo-off|$published|/api/users/1|DOTNET_TieredPGO=0"
  "tc-quick-jit-for-loops-off|$published|/api/users/1|DOTNET_TC_QuickJitForLoops=0"
  "write-xor-execute-off|$published|/api/users/1|DOTNET_EnableWriteXorExecute=0"
  "not-ready-to-run|$plain|/api/users/1|"
  "composite-ready-to-run|$composite|/api/users/1|"
)
keep=()
for v in "${variants[@]}"; do
  IFS='|' read -r name dir _ <<<"$v"
  [[ -f "$dir/UserFunctions.dll" || -f "$dir/UserFunctions.Bench.EmptyFunctions.dll" ]] || continue
  [[ -z "${BENCH_VARIANTS:-}" || ",$BENCH_VARIANTS," == *",$name,"* ]] && keep+=("$v")
done
variants=("${keep[@]}")

: >"$work/runs.txt"; : >"$work/cpu.txt"
for ((i = 1; i <= runs; i++)); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name dir path extra <<<"$v"
    # shellcheck disable=SC2086 # extra is a list of NAME=VALUE words
    result=$(env "ConnectionStrings__Users=Data Source=$work/cold.db" $extra \
      dotnet "$tool_dll" coldstart 1 "http://127.0.0.1:$port$path" "$dir" dotnet "$testhost_dll" --app "$dir" --urls "http://127.0.0.1:$port" --no-auth \
      2>>"$work/coldstart.log" | tail -n 1)
    echo "$name $(python3 -c 'import json, sys; print(json.load(sys.stdin)["child_median_ms"])' <<<"$result")" >>"$work/runs.txt"
    echo "$name $(python3 -c 'import json, sys; print(json.load(sys.stdin)["child_cpu_median_ms"])' <<<"$result")" >>"$work/cpu.txt"
  done
done
python3 "$bench_dir/variants-table.py" "$work/runs.txt" empty-app "worker launch -> first 200, median ms"
echo
# The worker's CPU time until its first 200: what a busy machine inflates least (uptime's load average says how busy).
python3 "$bench_dir/variants-table.py" "$work/cpu.txt" empty-app "worker CPU ms until the first 200, median"
uptime
