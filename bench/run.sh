#!/usr/bin/env bash
# The benchmarks of docs/performance.md: throughput and latency (wrk over loopback), CPU per request, cold start and peak
# memory of the paths users run, each next to a yardstick. The driver is bench/Tool's `run` command; this passes the
# arguments on (bash bench/run.sh --help lists them). With --no-build it runs the driver already built.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
command -v dotnet >/dev/null || { echo "bench: dotnet is required" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is required (wrk: apt-get install -y wrk)" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
driver=(dotnet run -c Release --project "$bench_dir/Tool" --)
[[ " $* " == *" --no-build "* ]] && driver=(dotnet "$bench_dir/Tool/bin/Release/net10.0/UserFunctions.Bench.Tool.dll")
exec "${driver[@]}" run "$@"
