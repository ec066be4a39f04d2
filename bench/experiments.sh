#!/usr/bin/env bash
# The runtime knobs of docs/performance.md, each one bench/run.sh with that knob on the API only (the baseline stays at
# its defaults), shorter than a full run. Results: bench/results/exp-<name>.json, summary: bench/results/experiments.md.
#   bash bench/experiments.sh [name...]      (default: all, in the order below; "default" runs first and last)
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)

declare -A knobs=(
  [default]=""
  [logging-information]="--env Logging__LogLevel__Default=Information"
  [tiered-pgo-off]="--env DOTNET_TieredPGO=0"
  [tiered-compilation-off]="--env DOTNET_TieredCompilation=0"
  [ready-to-run-off]="--env DOTNET_ReadyToRun=0"
  [workstation-gc]="--env DOTNET_gcServer=0"
  [heap-hard-limit-100mb]="--env DOTNET_GCHeapHardLimit=0x6400000"
  [no-migration-check]="--env Database__MigrateOnStartup=false"
  [api-ready-to-run-publish]="--api-r2r"
)
order=(default logging-information tiered-pgo-off tiered-compilation-off ready-to-run-off workstation-gc heap-hard-limit-100mb
  no-migration-check api-ready-to-run-publish default2)
[[ $# -gt 0 ]] && order=("$@")

short=(--suites sqlite --duration 8 --rounds 2 --warmup 3 --coldstart-runs 5)
first=1
for name in "${order[@]}"; do
  knob=${knobs[${name%2}]-}
  [[ -v "knobs[${name%2}]" ]] || { echo "unknown experiment $name" >&2; exit 2; }
  build=(--no-build)
  (( first )) && build=()
  first=0
  echo "=== $name: $knob" >&2
  # shellcheck disable=SC2086 # the knob is a list of arguments
  bash "$bench_dir/run.sh" "${short[@]}" "${build[@]}" --label "exp-$name" $knob || echo "=== $name FAILED" >&2
done

python3 - "$bench_dir/results" "${order[@]}" <<'PY'
import json, sys
results, names = sys.argv[1], sys.argv[2:]
lines = ["| experiment | get | list | post | put | server CPU ms/req get / list (API) | cold start ms API / baseline (ratio) | peak RSS MB API | noisy scenarios |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
import os
for name in names:
    if not os.path.exists(f"{results}/exp-{name}.json"):
        lines.append(f"| {name} | failed | | | | | | | |")
        continue
    r = json.load(open(f"{results}/exp-{name}.json"))
    suite = r["suites"]["sqlite"]
    sc, cs = suite["scenarios"], suite["cold_start"]
    lines.append(f"| {name} | " + " | ".join(f"{sc[s]['ratio']:.2f}" if s in sc else "" for s in ("get", "list", "post", "put"))
                 + f" | {sc['get']['a']['server_cpu_ms_per_request']:.3f} / {sc['list']['a']['server_cpu_ms_per_request']:.3f}"
                 + f" | {cs['a']['median_ms']:.0f} / {cs['b']['median_ms']:.0f} ({cs['a']['median_ms'] / cs['b']['median_ms']:.2f})"
                 + f" | {suite['memory']['a']['peak_rss_mb']:.0f} | {', '.join(n.split(' ')[0] for n in r['noisy'])} |")
open(f"{results}/experiments.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
