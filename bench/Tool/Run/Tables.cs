using static System.FormattableString;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>The tables a run prints: one per suite (markdown, as pasted into docs/performance.md), then the targets.</summary>
internal static class Tables
{
    public static void Print(BenchResult result, TextWriter output)
    {
        var m = result.Meta;
        output.WriteLine();
        output.WriteLine(Invariant($"bench {m.RunId} (git {m.Git}, code {m.CodeGit}, built {m.ApiDllBuilt}), {m.Cores} cores, ")
            + Invariant($"load average {m.LoadavgAtStart} at start, {m.LoadavgAtEnd} at end; wrk {m.Threads} threads x {m.Connections} connections, ")
            + Invariant($"{m.WarmupS} s warm-up + {m.Rounds} x {m.DurationS / m.Rounds} s per scenario and server; {m.WallS} s in all")
            + (m.ApiEnv.Length > 0 ? $"; env of ours: {m.ApiEnv}" : "") + (m.BaselineEnv.Length > 0 ? $"; env of the yardsticks: {m.BaselineEnv}" : ""));

        foreach (var (suite, s) in result.Suites)
        {
            PrintSuite(suite, s, output);
        }

        output.WriteLine();
        output.WriteLine("### Targets");
        output.WriteLine();
        output.WriteLine("| issue | target | measured | |");
        output.WriteLine("|---|---|---:|---|");
        foreach (var c in result.Checks)
        {
            output.WriteLine($"| {c.Issue} | {c.Name} | {Report.Py(c.Value)} | {(c.Pass ? "PASS" : "MISS")} |");
        }

        if (result.Noisy.Count > 0)
        {
            output.WriteLine();
            output.WriteLine(Invariant($"NOISY: other processes used over {Report.NoisyForeignCpuPct}% of the machine during: ")
                + $"{string.Join(", ", result.Noisy)}; rerun on a quiet machine.");
        }

        if (!result.Valid)
        {
            output.WriteLine();
            output.WriteLine("INVALID RUN: some requests failed (see errors above).");
        }
    }

    private static void PrintSuite(string suite, SuiteResult s, TextWriter output)
    {
        var (a, b) = (s.A, s.B);
        var database = suite == "postgresql";
        output.WriteLine();
        output.WriteLine($"### {s.Title}");
        output.WriteLine();
        output.WriteLine($"| scenario | {a} req/s | p50 / p99 ms | {b} req/s | p50 / p99 ms | req/s ratio (rounds) | CPU ms/req {a} / {b} (ratio)"
            + (database ? " | PostgreSQL CPU ms/req" : "") + " | target | |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|" + (database ? "---:|" : "") + "---|---|");
        foreach (var (scenario, e) in s.Scenarios)
        {
            var (ea, eb) = (e.A, e.B);
            var rounds = string.Join("/", e.RatioPerRound.Select(x => Invariant($"{x:F2}")));
            var verdict = e.Pass switch { true => "PASS", false => "MISS", null => "" };
            output.WriteLine(
                Invariant($"| {Report.Labels[scenario]} | {ea.Rps:N0} | {ea.LatencyMs.P50:F2} / {ea.LatencyMs.P99:F2} | {eb.Rps:N0} | ")
                + Invariant($"{eb.LatencyMs.P50:F2} / {eb.LatencyMs.P99:F2} | {e.Ratio:F2} ({rounds}) | ")
                + Invariant($"{ea.ServerCpuMsPerRequest:F3} / {eb.ServerCpuMsPerRequest:F3} ({e.CpuRatio:F2})")
                + (database ? Invariant($" | {ea.DatabaseCpuMsPerRequest:F3} / {eb.DatabaseCpuMsPerRequest:F3}") : "")
                + $" | {e.Target ?? ""} | {verdict} |");
        }

        if (s.Scenarios.TryGetValue("post", out var post) && s.Scenarios.TryGetValue("post-keyed", out var keyed))
        {
            output.WriteLine();
            output.WriteLine(Invariant($"keyed POST next to unkeyed POST, {a}: req/s {keyed.A.Rps:N0} / {post.A.Rps:N0} ({keyed.A.Rps / post.A.Rps:F2}), ")
                + Invariant($"CPU ms/req {keyed.A.ServerCpuMsPerRequest:F3} / {post.A.ServerCpuMsPerRequest:F3} ({keyed.A.ServerCpuMsPerRequest / post.A.ServerCpuMsPerRequest:F2})")
                + (database ? Invariant($", PostgreSQL CPU ms/req {keyed.A.DatabaseCpuMsPerRequest:F3} / {post.A.DatabaseCpuMsPerRequest:F3}") : ""));
        }

        if (suite == "functions")
        {
            output.WriteLine();
            output.WriteLine("Functions CPU ms per request, test host + worker: " + string.Join(", ", s.Scenarios.Select(
                p => $"{p.Key} " + string.Join(" + ", p.Value.A.ServerCpuMsPerRequestParts.Select(x => Invariant($"{x:F3}"))))));
            if (s.EmptyHello is { } hello)
            {
                output.WriteLine(Invariant($"empty app, GET /api/hello through the same test host and load: {hello.Rps:N0} req/s ")
                    + Invariant($"(rounds {string.Join("/", hello.RpsPerRound.Select(x => Invariant($"{x:F0}")))}), p50 / p99 {hello.LatencyMs.P50:F2} / {hello.LatencyMs.P99:F2} ms, ")
                    + "CPU ms/req test host + worker " + string.Join(" + ", hello.ServerCpuMsPerRequestParts.Select(x => Invariant($"{x:F3}")))
                    + (s.GetToHello is { } g
                        ? Invariant($"; Functions GET / hello: req/s {g.Ratio:F2} (rounds {string.Join("/", g.RatioPerRound.Select(x => Invariant($"{x:F2}")))}), CPU/request {g.CpuRatio:F2}")
                        : ""));
            }
        }

        static string Runs(IEnumerable<double> runs) => string.Join(", ", runs.Select(x => Invariant($"{x:F0}")));
        var cs = s.ColdStart;
        if (suite == "functions" && cs is not null)
        {
            output.WriteLine();
            output.WriteLine(Invariant($"cold start through the test host, median of {cs.A.RunsMs.Count}: worker launch -> first 200 ")
                + Invariant($"{cs.A.WorkerMedianMs:F0} ms (Functions app, GET /api/users/1) vs {cs.B.WorkerMedianMs:F0} ms (empty app, GET /api/hello), ")
                + $"ratio {(cs.WorkerRatio is { } r ? Invariant($"{r:F2}") : "nan")}; "
                + Invariant($"host process start -> first 200 {cs.A.MedianMs:F0} vs {cs.B.MedianMs:F0} ms"));
            output.WriteLine($"  runs, worker launch -> 200 ms: Functions {Runs(cs.A.WorkerRunsMs)}; empty {Runs(cs.B.WorkerRunsMs)}");
        }
        else if (cs is not null)
        {
            output.WriteLine();
            output.WriteLine(Invariant($"cold start, process start -> first 200 from GET /api/users/1, median of {cs.A.RunsMs.Count}: ")
                + Invariant($"{a} {cs.A.MedianMs:F0} ms, {b} {cs.B.MedianMs:F0} ms (ratio {cs.A.MedianMs / cs.B.MedianMs:F2}); ")
                + $"runs {a}: {Runs(cs.A.RunsMs)}; {b}: {Runs(cs.B.RunsMs)}");
        }
        else
        {
            output.WriteLine();
        }

        var memory = new (string Name, MemoryResult? Value)[]
        {
            (a + (suite == "functions" ? " worker" : ""), s.Memory.A),
            (b, s.Memory.B),
            ("empty app worker (same load on GET /api/hello)", s.Memory.Empty),
        };
        output.WriteLine("peak RSS under load (anonymous + file-backed at the end), MB: " + string.Join("; ", memory
                .Where(x => x.Value is not null)
                .Select(x => Invariant($"{x.Name} {x.Value!.PeakRssMb:F0} ({x.Value.AnonMb:F0} + {x.Value.FileMb:F0})")))
            + (s.Memory.WorkerRatio is { } ratio ? Invariant($"; ratio worker / empty app {ratio:F2}") : ""));
        output.WriteLine("errors (non-2xx + socket), ours / yardstick: "
            + string.Join(", ", s.Scenarios.Select(p => Invariant($"{p.Key} {p.Value.A.Errors()} / {p.Value.B.Errors()}")))
            + "; other processes' CPU while measuring, % of the machine: "
            + string.Join(", ", s.Scenarios.Select(p => $"{p.Key} {Report.Py(p.Value.A.ForeignCpuPct)} / {Report.Py(p.Value.B.ForeignCpuPct)}")));
    }
}
