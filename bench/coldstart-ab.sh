#!/usr/bin/env bash
# Cold-start comparisons of the API under different settings, alternating the variants run by run so that a busy spell
# of a shared machine hits them all alike. Each variant: process start -> first 200 from its URL, median of N runs.
# Needs a Release build (bash bench/run.sh builds one) and, for "r2r", bench/results/publish-r2r (bash bench/run.sh --api-r2r).
#   bash bench/coldstart-ab.sh [runs]     (default 7)
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
runs=${1:-7}
[[ "$runs" =~ ^[0-9]+$ ]] && (( runs >= 1 && runs <= 21 )) || { echo "runs: 1..21" >&2; exit 2; }
port=${BENCH_COLDSTART_PORT:-5183}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi

tool_dll="$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll"
build_dir="$repo/UserFunctions.DevServer/bin/Release/net10.0"
r2r_dir="$bench_dir/results/publish-r2r"
work="$bench_dir/results/coldstart-ab"
mkdir -p "$work"
dotnet "$tool_dll" seed "$work/cold.db" 10000 >&2

# name | directory | path of the first request | extra environment (space-separated NAME=VALUE)
variants=(
  "default|$build_dir|/api/users/1|"
  "first-request-openapi|$build_dir|/api/openapi.json|"
  "no-migration-check|$build_dir|/api/users/1|Database__MigrateOnStartup=false"
  "no-migration-check-openapi|$build_dir|/api/openapi.json|Database__MigrateOnStartup=false"
  "tiered-pgo-off|$build_dir|/api/users/1|DOTNET_TieredPGO=0"
  "tc-quick-jit-for-loops-off|$build_dir|/api/users/1|DOTNET_TC_QuickJitForLoops=0"
  "ready-to-run-off|$build_dir|/api/users/1|DOTNET_ReadyToRun=0"
)
[[ -f "$r2r_dir/UserFunctions.DevServer.dll" ]] && variants+=("ready-to-run-publish|$r2r_dir|/api/users/1|")

: >"$work/runs.txt"
for ((i = 1; i <= runs; i++)); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name dir path extra <<<"$v"
    # shellcheck disable=SC2086 # extra is a list of NAME=VALUE words
    ms=$(env Logging__LogLevel__Default=Warning "ConnectionStrings__Users=Data Source=$work/cold.db" $extra \
      dotnet "$tool_dll" coldstart 1 "http://127.0.0.1:$port$path" "$dir" dotnet "$dir/UserFunctions.DevServer.dll" --urls "http://127.0.0.1:$port" \
      2>>"$work/coldstart.log" | tail -n 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["median_ms"])')
    echo "$name $ms" >>"$work/runs.txt"
  done
done
python3 "$bench_dir/variants-table.py" "$work/runs.txt" default "median ms"
