#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into bench/results/latest.json and the table it prints."""
import argparse
import json
import statistics

TARGETS = {  # scenario: minimum ratio API / baseline (requests per second)
    "get": 0.9,
    "list": 1 / 1.5,
    "post": 1 / 1.5,
    "put": 1 / 1.5,
}
LABELS = {"get": "GET /api/users/{id}", "list": "GET /api/users?limit=20", "post": "POST /api/users", "put": "PUT /api/users/{id}"}
COLD_START_TARGET_MS = 300
PEAK_RSS_TARGET_MB = 150
NOISY_FOREIGN_CPU_PCT = 10  # CPU used by processes other than the two servers and wrk, as % of the machine


def aggregate(rounds):
    """One target's rounds of one scenario: requests/s over all rounds, latency percentiles as the median of the rounds'."""
    requests = sum(r["wrk"]["requests"] for r in rounds)
    seconds = sum(r["wrk"]["duration_s"] for r in rounds)
    cpu = sum(r["server_cpu_s"] for r in rounds)
    return {
        "rps": round(requests / seconds, 1),
        "rps_per_round": [r["wrk"]["rps"] for r in rounds],
        "requests": requests,
        "latency_ms": {k: round(statistics.median(r["wrk"]["latency_ms"][k] for r in rounds), 3) for k in ("mean", "p50", "p90", "p99")}
        | {"max": max(r["wrk"]["latency_ms"]["max"] for r in rounds)},
        "non2xx": sum(r["wrk"]["non2xx"] for r in rounds),
        "socket_errors": {k: sum(r["wrk"]["errors"][k] for r in rounds) for k in ("connect", "read", "write", "timeout")},
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_request": round(1000 * cpu / max(requests, 1), 4),
        "wrk_cpu_s": round(sum(r["wrk_cpu_s"] for r in rounds), 2),
        "foreign_cpu_pct": round(statistics.mean(r["foreign_cpu_pct"] for r in rounds), 1),
        "rss_mb_after": round(rounds[-1]["rss_kb"] / 1024, 1),
    }


def cold(text):
    runs = [float(x) for x in text.split(",") if x]
    return {"runs_ms": runs, "median_ms": statistics.median(runs), "min_ms": min(runs), "max_ms": max(runs)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", required=True)
    parser.add_argument("--quiet", required=True)
    parser.add_argument("--api-cold", required=True)
    parser.add_argument("--baseline-cold", required=True)
    parser.add_argument("--api-hwm", type=int, required=True)
    parser.add_argument("--baseline-hwm", type=int, required=True)
    parser.add_argument("--api-rss-parts", required=True)
    parser.add_argument("--baseline-rss-parts", required=True)
    parser.add_argument("--meta", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    rows = [json.loads(line) for line in open(args.load) if line.strip()]
    waits = {q["scenario"]: q["quiet_wait_s"] for q in (json.loads(line) for line in open(args.quiet) if line.strip())}
    scenarios = [s for s in TARGETS if any(r["scenario"] == s for r in rows)]

    result = {"meta": json.loads(args.meta), "scenarios": {}, "cold_start": {}, "memory": {}, "checks": []}
    valid = True
    noisy = []
    for s in scenarios:
        entry = {}
        for target in ("api", "baseline"):
            entry[target] = aggregate(sorted((r for r in rows if r["scenario"] == s and r["target"] == target), key=lambda r: r["round"]))
            valid &= entry[target]["non2xx"] + sum(entry[target]["socket_errors"].values()) == 0
            if entry[target]["foreign_cpu_pct"] > NOISY_FOREIGN_CPU_PCT:
                noisy.append(f"{target}/{s} {entry[target]['foreign_cpu_pct']}%")
        ratio = entry["api"]["rps"] / entry["baseline"]["rps"]
        per_round = [a / b for a, b in zip(entry["api"]["rps_per_round"], entry["baseline"]["rps_per_round"])]
        entry["ratio"] = round(ratio, 3)
        entry["ratio_per_round"] = [round(x, 3) for x in per_round]
        entry["cpu_efficiency_ratio"] = round(entry["baseline"]["server_cpu_ms_per_request"] / entry["api"]["server_cpu_ms_per_request"], 3)
        entry["target_ratio"] = round(TARGETS[s], 3)
        entry["pass"] = ratio >= TARGETS[s]
        entry["quiet_wait_s"] = waits.get(s)
        result["scenarios"][s] = entry
        result["checks"].append({"name": f"{s} req/s >= {TARGETS[s]:.2f}x baseline", "value": round(ratio, 3), "pass": entry["pass"]})

    api_cold, baseline_cold = cold(args.api_cold), cold(args.baseline_cold)
    result["cold_start"] = {"api": api_cold, "baseline": baseline_cold, "target_ms": COLD_START_TARGET_MS,
                            "pass": api_cold["median_ms"] <= COLD_START_TARGET_MS}
    result["checks"].append({"name": f"cold start median <= {COLD_START_TARGET_MS} ms", "value": api_cold["median_ms"],
                             "pass": result["cold_start"]["pass"]})

    api_mb = round(args.api_hwm / 1024, 1)
    result["memory"] = {"api_peak_rss_mb": api_mb, "baseline_peak_rss_mb": round(args.baseline_hwm / 1024, 1),
                        "source": "VmHWM of /proc/<pid>/status after all load scenarios",
                        "api_at_end": json.loads(args.api_rss_parts), "baseline_at_end": json.loads(args.baseline_rss_parts),
                        "target_mb": PEAK_RSS_TARGET_MB, "pass": api_mb <= PEAK_RSS_TARGET_MB}
    result["checks"].append({"name": f"peak RSS <= {PEAK_RSS_TARGET_MB} MB", "value": api_mb, "pass": result["memory"]["pass"]})
    result["valid"] = valid
    result["noisy"] = noisy
    result["pass"] = valid and all(c["pass"] for c in result["checks"])

    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    m = result["meta"]
    print(f"\nbench {m['run_id']} (git {m['git']}, code {m['code_git']}, API built {m['api_dll_built']}), {m['cores']} cores, wrk {m['threads']} threads x {m['connections']} connections, "
          f"{m['warmup_s']} s warm-up + {m['rounds']} x {m['duration_s'] // m['rounds']} s per scenario and server"
          + (f", API env: {m['api_env']}" if m["api_env"] else "") + (f", baseline env: {m['baseline_env']}" if m["baseline_env"] else ""))
    print()
    print("| scenario | API req/s | API p50 / p99 ms | baseline req/s | baseline p50 / p99 ms | ratio (rounds) | target | |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for s in scenarios:
        e = result["scenarios"][s]
        a, b = e["api"], e["baseline"]
        rounds = "/".join(f"{x:.2f}" for x in e["ratio_per_round"])
        print(f"| {LABELS[s]} | {a['rps']:,.0f} | {a['latency_ms']['p50']:.2f} / {a['latency_ms']['p99']:.2f} | {b['rps']:,.0f} | "
              f"{b['latency_ms']['p50']:.2f} / {b['latency_ms']['p99']:.2f} | {e['ratio']:.2f} ({rounds}) | >= {e['target_ratio']:.2f} | "
              f"{'PASS' if e['pass'] else 'MISS'} |")
    cs = result["cold_start"]
    print(f"| cold start, median of {len(api_cold['runs_ms'])} | {api_cold['median_ms']:.0f} ms | | {baseline_cold['median_ms']:.0f} ms | | "
          f"{api_cold['median_ms'] / baseline_cold['median_ms']:.2f} | <= {COLD_START_TARGET_MS} ms | {'PASS' if cs['pass'] else 'MISS'} |")
    mem = result["memory"]
    print(f"| peak RSS under load | {mem['api_peak_rss_mb']:.0f} MB | | {mem['baseline_peak_rss_mb']:.0f} MB | | "
          f"{mem['api_peak_rss_mb'] / mem['baseline_peak_rss_mb']:.2f} | <= {PEAK_RSS_TARGET_MB} MB | {'PASS' if mem['pass'] else 'MISS'} |")
    print()
    print("errors (non-2xx + socket), API / baseline: " + ", ".join(
        f"{s} {result['scenarios'][s]['api']['non2xx'] + sum(result['scenarios'][s]['api']['socket_errors'].values())}"
        f" / {result['scenarios'][s]['baseline']['non2xx'] + sum(result['scenarios'][s]['baseline']['socket_errors'].values())}"
        for s in scenarios))
    print("server CPU ms per request, API / baseline (ratio): " + ", ".join(
        f"{s} {result['scenarios'][s]['api']['server_cpu_ms_per_request']:.3f} / {result['scenarios'][s]['baseline']['server_cpu_ms_per_request']:.3f}"
        f" ({result['scenarios'][s]['cpu_efficiency_ratio']:.2f})" for s in scenarios))
    print("cold start runs ms, API: " + ", ".join(f"{x:.0f}" for x in api_cold["runs_ms"])
          + "; baseline: " + ", ".join(f"{x:.0f}" for x in baseline_cold["runs_ms"]))
    ae, be = mem["api_at_end"], mem["baseline_at_end"]
    print(f"resident set at the end, anonymous + file-backed MB: API {ae['rss_anon_kb'] / 1024:.0f} + {ae['rss_file_kb'] / 1024:.0f}, "
          f"baseline {be['rss_anon_kb'] / 1024:.0f} + {be['rss_file_kb'] / 1024:.0f}")
    print("other processes' CPU while measuring, % of the machine, API / baseline: " + ", ".join(
        f"{s} {result['scenarios'][s]['api']['foreign_cpu_pct']} / {result['scenarios'][s]['baseline']['foreign_cpu_pct']}" for s in scenarios))
    if noisy:
        print(f"NOISY: other processes used over {NOISY_FOREIGN_CPU_PCT}% of the machine during: {', '.join(noisy)}; rerun on a quiet machine.")
    if not valid:
        print("INVALID RUN: some requests failed (see errors above).")


if __name__ == "__main__":
    main()
