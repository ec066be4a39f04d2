#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh into bench/results/latest.json and the tables it prints."""
import argparse
import json
import statistics

LABELS = {"get": "GET /api/users/{id}", "list": "GET /api/users?limit=20", "post": "POST /api/users", "put": "PUT /api/users/{id}"}
# Per suite: who is "a" (ours) and "b" (the yardstick), and the targets: ("rps", x) means a's req/s >= x * b's;
# ("cpu", x) means a's server CPU per request <= x * b's. The issue each target comes from is in docs/performance.md.
SUITES = {
    "sqlite": {
        "title": "Dev server next to raw ADO.NET, SQLite",
        "a": "dev server", "b": "raw SQLite",
        "targets": {"get": ("rps", 0.7), "list": ("rps", 1 / 1.5), "post": ("rps", 1 / 1.5), "put": ("rps", 1 / 1.5)},
    },
    "functions": {
        "title": "Functions app behind the test host next to the dev server, SQLite",
        "a": "Functions", "b": "dev server",
        "targets": {"get": ("rps", 0.5)},
    },
    "postgresql": {
        "title": "Dev server next to raw Npgsql, PostgreSQL",
        "a": "dev server", "b": "raw Npgsql",
        "targets": {"get": ("rps", 0.8), "list": ("cpu", 1.5), "post": ("cpu", 1.5), "put": ("cpu", 1.5)},
    },
}
DEV_SERVER_COLD_START_TARGET_MS = 300  # issue 6
DEV_SERVER_PEAK_RSS_TARGET_MB = 150  # issue 6
FUNCTIONS_COLD_START_RATIO = 1.3  # issue 12: worker launch -> first 200, Functions app / empty app
FUNCTIONS_PEAK_RSS_RATIO = 1.3  # issue 12: worker peak RSS under load, Functions app / empty app
NOISY_FOREIGN_CPU_PCT = 10  # CPU used by processes other than the servers, the database and wrk, as % of the machine


def aggregate(rounds):
    """One target's rounds of one scenario: requests/s over all rounds, latency percentiles as the median of the rounds'."""
    requests = sum(r["wrk"]["requests"] for r in rounds)
    seconds = sum(r["wrk"]["duration_s"] for r in rounds)
    cpu = sum(r["server_cpu_s"] for r in rounds)
    db_cpu = sum(r.get("database_cpu_s", 0) for r in rounds)
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
        "database_cpu_ms_per_request": round(1000 * db_cpu / max(requests, 1), 4),
        "server_cpu_ms_per_request_parts": [round(1000 * sum(r["server_cpu_parts_s"][i] for r in rounds) / max(requests, 1), 4)
                                            for i in range(len(rounds[0].get("server_cpu_parts_s", [])))],
        "wrk_cpu_s": round(sum(r["wrk_cpu_s"] for r in rounds), 2),
        "foreign_cpu_pct": round(statistics.mean(r["foreign_cpu_pct"] for r in rounds), 1),
        "rss_mb_after": round(rounds[-1]["rss_kb"] / 1024, 1),
    }


def errors(entry):
    return entry["non2xx"] + sum(entry["socket_errors"].values())


def median_of(runs, key):
    values = [r["result"][key] for r in runs if key in r["result"]]
    return statistics.median(values) if values else None


def check(name, value, target, passed, issue):
    return {"name": name, "value": round(value, 3) if value is not None else None, "target": target, "pass": passed, "issue": issue}


def main():
    parser = argparse.ArgumentParser()
    for name in ("--load", "--quiet", "--memory", "--coldstart", "--meta", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()

    def lines(path):
        return [json.loads(line) for line in open(path) if line.strip()]

    rows, quiet, memory, cold = lines(args.load), lines(args.quiet), lines(args.memory), lines(args.coldstart)
    result = {"meta": json.loads(args.meta), "suites": {}, "checks": []}
    valid = True
    noisy = []

    for suite, config in SUITES.items():
        suite_rows = [r for r in rows if r["suite"] == suite]
        if not suite_rows:
            continue
        out = {"title": config["title"], "a": config["a"], "b": config["b"], "scenarios": {}}
        for s in LABELS:
            if not any(r["scenario"] == s for r in suite_rows):
                continue
            entry = {}
            for target in ("a", "b"):
                entry[target] = aggregate(sorted((r for r in suite_rows if r["scenario"] == s and r["target"] == target), key=lambda r: r["round"]))
                valid &= errors(entry[target]) == 0
                if entry[target]["foreign_cpu_pct"] > NOISY_FOREIGN_CPU_PCT:
                    noisy.append(f"{suite}/{target}/{s} {entry[target]['foreign_cpu_pct']}%")
            entry["ratio"] = round(entry["a"]["rps"] / entry["b"]["rps"], 3)
            entry["ratio_per_round"] = [round(a / b, 3) for a, b in zip(entry["a"]["rps_per_round"], entry["b"]["rps_per_round"])]
            entry["cpu_ratio"] = round(entry["a"]["server_cpu_ms_per_request"] / max(entry["b"]["server_cpu_ms_per_request"], 1e-9), 3)
            entry["quiet_wait_s"] = next((q["quiet_wait_s"] for q in quiet if q["suite"] == suite and q["scenario"] == s), None)
            if s in config["targets"]:
                kind, x = config["targets"][s]
                if kind == "rps":
                    entry["target"] = f"req/s >= {x:.2f}x"
                    entry["pass"] = entry["ratio"] >= x
                    value = entry["ratio"]
                else:
                    entry["target"] = f"CPU/request <= {x:.2f}x"
                    entry["pass"] = entry["cpu_ratio"] <= x
                    value = entry["cpu_ratio"]
                result["checks"].append(check(f"{suite} {s}: {config['a']} {entry['target']} {config['b']}", value, x, entry["pass"],
                                              "6" if suite == "sqlite" and s != "get" else "12"))
            out["scenarios"][s] = entry

        mem = {m["target"]: m for m in memory if m["suite"] == suite}
        out["memory"] = {k: {"peak_rss_mb": round(v["hwm_kb"] / 1024, 1), "rss_mb": round(v["rss_kb"] / 1024, 1),
                             "anon_mb": round(v["rss_anon_kb"] / 1024, 1), "file_mb": round(v["rss_file_kb"] / 1024, 1)} for k, v in mem.items()}
        runs = {t: [c for c in cold if c["suite"] == suite and c["target"] == t] for t in ("a", "b")}
        if runs["a"]:
            out["cold_start"] = {t: {"runs_ms": [r["result"]["median_ms"] for r in runs[t]], "median_ms": median_of(runs[t], "median_ms"),
                                     "worker_runs_ms": [r["result"]["child_median_ms"] for r in runs[t] if "child_median_ms" in r["result"]],
                                     "worker_median_ms": median_of(runs[t], "child_median_ms")} for t in ("a", "b")}
        if suite == "sqlite":
            if "cold_start" in out:
                ms = out["cold_start"]["a"]["median_ms"]
                result["checks"].append(check(f"sqlite: dev server cold start median <= {DEV_SERVER_COLD_START_TARGET_MS} ms", ms,
                                              DEV_SERVER_COLD_START_TARGET_MS, ms <= DEV_SERVER_COLD_START_TARGET_MS, "6"))
            if "a" in out["memory"]:
                mb = out["memory"]["a"]["peak_rss_mb"]
                result["checks"].append(check(f"sqlite: dev server peak RSS <= {DEV_SERVER_PEAK_RSS_TARGET_MB} MB", mb,
                                              DEV_SERVER_PEAK_RSS_TARGET_MB, mb <= DEV_SERVER_PEAK_RSS_TARGET_MB, "6"))
        if suite == "functions":
            if "cold_start" in out and out["cold_start"]["a"]["worker_median_ms"] and out["cold_start"]["b"]["worker_median_ms"]:
                ratio = out["cold_start"]["a"]["worker_median_ms"] / out["cold_start"]["b"]["worker_median_ms"]
                out["cold_start"]["worker_ratio"] = round(ratio, 3)
                result["checks"].append(check(f"functions: cold start (worker launch -> first 200) <= {FUNCTIONS_COLD_START_RATIO}x the empty app's",
                                              ratio, FUNCTIONS_COLD_START_RATIO, ratio <= FUNCTIONS_COLD_START_RATIO, "12"))
            if "a" in out["memory"] and "empty" in out["memory"]:
                ratio = out["memory"]["a"]["peak_rss_mb"] / out["memory"]["empty"]["peak_rss_mb"]
                out["memory"]["worker_ratio"] = round(ratio, 3)
                result["checks"].append(check(f"functions: worker peak RSS under load <= {FUNCTIONS_PEAK_RSS_RATIO}x the empty app's",
                                              ratio, FUNCTIONS_PEAK_RSS_RATIO, ratio <= FUNCTIONS_PEAK_RSS_RATIO, "12"))
        result["suites"][suite] = out

    result["valid"] = valid
    result["noisy"] = noisy
    result["pass"] = valid and all(c["pass"] for c in result["checks"])
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print_tables(result)


def print_tables(result):
    m = result["meta"]
    print(f"\nbench {m['run_id']} (git {m['git']}, code {m['code_git']}, built {m['api_dll_built']}), {m['cores']} cores, "
          f"load average {m['loadavg_at_start']} at start, {m['loadavg_at_end']} at end; wrk {m['threads']} threads x {m['connections']} connections, "
          f"{m['warmup_s']} s warm-up + {m['rounds']} x {m['duration_s'] // m['rounds']} s per scenario and server; {m['wall_s']} s in all"
          + (f"; env of ours: {m['api_env']}" if m["api_env"] else "") + (f"; env of the yardsticks: {m['baseline_env']}" if m["baseline_env"] else ""))
    for suite, out in result["suites"].items():
        a, b = out["a"], out["b"]
        db = suite == "postgresql"
        print(f"\n### {out['title']}\n")
        print(f"| scenario | {a} req/s | p50 / p99 ms | {b} req/s | p50 / p99 ms | req/s ratio (rounds) | CPU ms/req {a} / {b} (ratio)"
              + (" | PostgreSQL CPU ms/req" if db else "") + " | target | |")
        print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if db else "") + "---|---|")
        for s, e in out["scenarios"].items():
            ea, eb = e["a"], e["b"]
            rounds = "/".join(f"{x:.2f}" for x in e["ratio_per_round"])
            verdict = ("PASS" if e["pass"] else "MISS") if "pass" in e else ""
            print(f"| {LABELS[s]} | {ea['rps']:,.0f} | {ea['latency_ms']['p50']:.2f} / {ea['latency_ms']['p99']:.2f} | {eb['rps']:,.0f} | "
                  f"{eb['latency_ms']['p50']:.2f} / {eb['latency_ms']['p99']:.2f} | {e['ratio']:.2f} ({rounds}) | "
                  f"{ea['server_cpu_ms_per_request']:.3f} / {eb['server_cpu_ms_per_request']:.3f} ({e['cpu_ratio']:.2f})"
                  + (f" | {ea['database_cpu_ms_per_request']:.3f} / {eb['database_cpu_ms_per_request']:.3f}" if db else "")
                  + f" | {e.get('target', '')} | {verdict} |")
        if suite == "functions":
            print("\nFunctions CPU ms per request, test host + worker: " + ", ".join(
                f"{s} " + " + ".join(f"{x:.3f}" for x in e["a"]["server_cpu_ms_per_request_parts"]) for s, e in out["scenarios"].items()))
        cs = out.get("cold_start")
        mem = out["memory"]
        if suite == "functions" and cs:
            print(f"\ncold start through the test host, median of {len(cs['a']['runs_ms'])}: worker launch -> first 200 "
                  f"{cs['a']['worker_median_ms']:.0f} ms (Functions app, GET /api/users/1) vs {cs['b']['worker_median_ms']:.0f} ms (empty app, GET /api/hello), "
                  f"ratio {cs.get('worker_ratio', float('nan')):.2f}; host process start -> first 200 {cs['a']['median_ms']:.0f} vs {cs['b']['median_ms']:.0f} ms")
            print(f"  runs, worker launch -> 200 ms: Functions {', '.join(f'{x:.0f}' for x in cs['a']['worker_runs_ms'])}; "
                  f"empty {', '.join(f'{x:.0f}' for x in cs['b']['worker_runs_ms'])}")
        elif cs:
            print(f"\ncold start, process start -> first 200 from GET /api/users/1, median of {len(cs['a']['runs_ms'])}: {a} {cs['a']['median_ms']:.0f} ms, "
                  f"{b} {cs['b']['median_ms']:.0f} ms (ratio {cs['a']['median_ms'] / cs['b']['median_ms']:.2f}); runs {a}: "
                  f"{', '.join(f'{x:.0f}' for x in cs['a']['runs_ms'])}; {b}: {', '.join(f'{x:.0f}' for x in cs['b']['runs_ms'])}")
        if not cs:
            print()
        names = {"a": a + (" worker" if suite == "functions" else ""), "b": b, "empty": "empty app worker (same load on GET /api/hello)"}
        print("peak RSS under load (anonymous + file-backed at the end), MB: " + "; ".join(
            f"{names[k]} {v['peak_rss_mb']:.0f} ({v['anon_mb']:.0f} + {v['file_mb']:.0f})" for k, v in mem.items() if isinstance(v, dict))
            + (f"; ratio worker / empty app {mem['worker_ratio']:.2f}" if "worker_ratio" in mem else ""))
        print("errors (non-2xx + socket), ours / yardstick: " + ", ".join(
            f"{s} {errors(e['a'])} / {errors(e['b'])}" for s, e in out["scenarios"].items())
            + "; other processes' CPU while measuring, % of the machine: " + ", ".join(
            f"{s} {e['a']['foreign_cpu_pct']} / {e['b']['foreign_cpu_pct']}" for s, e in out["scenarios"].items()))

    print("\n### Targets\n")
    print("| issue | target | measured | |")
    print("|---|---|---:|---|")
    for c in result["checks"]:
        print(f"| {c['issue']} | {c['name']} | {c['value']} | {'PASS' if c['pass'] else 'MISS'} |")
    if result["noisy"]:
        print(f"\nNOISY: other processes used over {NOISY_FOREIGN_CPU_PCT}% of the machine during: {', '.join(result['noisy'])}; rerun on a quiet machine.")
    if not result["valid"]:
        print("\nINVALID RUN: some requests failed (see errors above).")


if __name__ == "__main__":
    main()
