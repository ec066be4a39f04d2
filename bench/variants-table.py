#!/usr/bin/env python3
"""The table of bench/coldstart-*.sh: lines of "variant milliseconds" (one per run), the median of each variant and its
ratio to the base variant's median. Usage: variants-table.py RUNS_FILE BASE_VARIANT MEASURE_HEADER"""
import statistics
import sys

runs_file, base_name, header = sys.argv[1:4]
runs = {}
for line in open(runs_file):
    name, ms = line.split()
    runs.setdefault(name, []).append(float(ms))
base = statistics.median(runs[base_name])
print(f"| variant | {header} | vs {base_name} | runs |")
print("|---|---:|---:|---|")
for name, values in runs.items():
    m = statistics.median(values)
    print(f"| {name} | {m:.0f} | {m / base:.2f} | {', '.join(f'{v:.0f}' for v in values)} |")
