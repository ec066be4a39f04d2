using System.Text.Json.Serialization;
using static System.FormattableString;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>bench/results/latest.json: the run's settings, every suite's aggregates, and the targets.</summary>
internal sealed record BenchResult(
    RunMeta Meta,
    Dictionary<string, SuiteResult> Suites,
    IReadOnlyList<TargetCheck> Checks,
    bool Valid,
    IReadOnlyList<string> Noisy,
    bool Pass);

internal sealed record RunMeta(
    string RunId,
    string Git,
    string CodeGit,
    string ApiDllBuilt,
    int UncommittedAppFiles,
    string Suites,
    int DurationS,
    int Rounds,
    int WarmupS,
    int Threads,
    int Connections,
    int Users,
    int Cores,
    string ApiEnv,
    string BaselineEnv,
    string Label,
    [property: JsonPropertyName("api_r2r")] bool ApiR2r,
    string LoadavgAtStart,
    string LoadavgAtEnd,
    long WallS);

internal sealed record SuiteResult(
    string Title,
    string A,
    string B,
    Dictionary<string, ScenarioResult> Scenarios,
    SuiteMemory Memory,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SuiteColdStart? ColdStart,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TargetResult? EmptyHello = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] HelloRatio? GetToHello = null);

/// <summary>The Functions GET next to the empty app's hello, whose rounds alternate with it: req/s (all rounds, each round) and CPU per request.</summary>
internal sealed record HelloRatio(double Ratio, IReadOnlyList<double> RatioPerRound, double CpuRatio);

internal sealed record ScenarioResult(
    TargetResult A,
    TargetResult B,
    double Ratio,
    IReadOnlyList<double> RatioPerRound,
    double CpuRatio,
    int? QuietWaitS,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Target,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Pass);

/// <summary>One server's rounds of one scenario together.</summary>
internal sealed record TargetResult(
    double Rps,
    IReadOnlyList<double> RpsPerRound,
    long Requests,
    Latency LatencyMs,
    [property: JsonPropertyName("non2xx")] long Non2xx,
    SocketErrors SocketErrors,
    double ServerCpuS,
    double ServerCpuMsPerRequest,
    double DatabaseCpuMsPerRequest,
    IReadOnlyList<double> ServerCpuMsPerRequestParts,
    double WrkCpuS,
    double ForeignCpuPct,
    double RssMbAfter)
{
    public long Errors() => Non2xx + SocketErrors.Count();
}

internal sealed record SuiteMemory(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MemoryResult? A,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MemoryResult? B,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MemoryResult? Empty,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? WorkerRatio);

internal sealed record MemoryResult(double PeakRssMb, double RssMb, double AnonMb, double FileMb);

internal sealed record SuiteColdStart(
    ColdStartSide A,
    ColdStartSide B,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? WorkerRatio);

internal sealed record ColdStartSide(IReadOnlyList<double> RunsMs, double? MedianMs, IReadOnlyList<double> WorkerRunsMs, double? WorkerMedianMs);

internal sealed record TargetCheck(string Name, double? Value, double Target, bool Pass, string Issue);

/// <summary>A target of a scenario: a's req/s at least x times b's, or a's server CPU per request at most x times b's.</summary>
internal sealed record Goal(bool Throughput, double X, string Issue);

/// <summary>A suite's two servers and the targets of its scenarios.</summary>
internal sealed record SuiteConfig(string Title, string A, string B, IReadOnlyDictionary<string, Goal[]> Targets);

/// <summary>Turns a run's measurements into <see cref="BenchResult"/>. The issue each target comes from is in docs/performance.md.</summary>
internal static class Report
{
    public static readonly IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string>
    {
        ["get"] = "GET /api/users/{id}",
        ["list"] = "GET /api/users?limit=20",
        ["post"] = "POST /api/users",
        ["put"] = "PUT /api/users/{id}",
        ["patch"] = "PATCH /api/users/{id}",
        ["post-keyed"] = "POST /api/users, Idempotency-Key",
    };

    // In this order in the report, whatever the order of --suites.
    public static readonly IReadOnlyDictionary<string, SuiteConfig> Suites = new Dictionary<string, SuiteConfig>
    {
        ["sqlite"] = new("Dev server next to raw ADO.NET, SQLite", "dev server", "raw SQLite", new Dictionary<string, Goal[]>
        {
            ["get"] = [new(true, 0.7, "12")],
            ["list"] = [new(true, 1 / 1.5, "6")],
            ["post"] = [new(true, 1 / 1.5, "6"), new(false, 1.3, "20")],
            ["put"] = [new(true, 0.8, "20"), new(false, 1.3, "20")],
            ["patch"] = [new(true, 0.8, "20"), new(false, 1.3, "20")],
        }),
        ["functions"] = new("Functions app behind the test host next to the dev server, SQLite", "Functions", "dev server",
            new Dictionary<string, Goal[]> { ["get"] = [new(true, 0.5, "12")] }),
        ["postgresql"] = new("Dev server next to raw Npgsql, PostgreSQL", "dev server", "raw Npgsql", new Dictionary<string, Goal[]>
        {
            ["get"] = [new(true, 0.9, "20")],
            ["list"] = [new(false, 1.5, "12")],
            ["post"] = [new(false, 1.3, "20")],
            ["put"] = [new(true, 0.8, "20"), new(false, 1.3, "20")],
            ["patch"] = [new(true, 0.8, "20"), new(false, 1.3, "20")],
        }),
        ["telemetry-sqlite"] = TelemetryCost("Telemetry cost, dev server on SQLite: OTLP export at full sampling next to no exporter", "exporting", "none", 0.9),
        ["telemetry-sqlite-none"] = TelemetryCost("Telemetry cost, dev server on SQLite: no exporter next to OTEL_SDK_DISABLED=true", "none", "SDK disabled", 0.97),
        ["telemetry-functions"] = TelemetryCost("Telemetry cost, Functions app behind the test host: OTLP export at full sampling next to no exporter", "exporting", "none", 0.9),
        ["telemetry-functions-none"] = TelemetryCost("Telemetry cost, Functions app behind the test host: no exporter next to OTEL_SDK_DISABLED=true", "none", "SDK disabled", 0.97),
    };

    // The telemetry titles name the suite's default sampler; an OTEL_TRACES_SAMPLER given with --env replaces it.
    private static string TitleFor(string title, RunMeta meta)
    {
        var sampler = meta.ApiEnv.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(setting => setting.StartsWith("OTEL_TRACES_SAMPLER", StringComparison.Ordinal))
            .ToArray();
        return sampler.Length == 0 ? title : title.Replace("at full sampling", $"with {string.Join(' ', sampler)}", StringComparison.Ordinal);
    }

    /// <summary>A pair of the telemetry suite: GET by id and POST req/s of a at least x times b's.</summary>
    private static SuiteConfig TelemetryCost(string title, string a, string b, double x) =>
        new(title, a, b, new Dictionary<string, Goal[]> { ["get"] = [new(true, x, "19")], ["post"] = [new(true, x, "19")] });

    public const double DevServerColdStartTargetMs = 300; // issue 6
    public const double DevServerPeakRssTargetMb = 150; // issue 6
    public const double FunctionsColdStartRatio = 1.15; // issue 20 (12 asked 1.3): worker launch -> first 200, Functions app / empty app
    public const double FunctionsGetToHelloRatio = 0.8; // issue 20: Functions GET by id req/s / the empty app's hello req/s, same host and load
    public const double FunctionsPeakRssRatio = 1.3; // issue 12: worker peak RSS under load, Functions app / empty app
    public const double NoisyForeignCpuPct = 10; // CPU used by processes other than the servers, the database and wrk, as % of the machine

    public static BenchResult Build(RunMeta meta, Measurements measured)
    {
        var suites = new Dictionary<string, SuiteResult>();
        var checks = new List<TargetCheck>();
        var noisy = new List<string>();
        var valid = true;

        foreach (var (suite, config) in Suites)
        {
            var rows = measured.Load.Where(r => r.Suite == suite).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            var scenarios = new Dictionary<string, ScenarioResult>();
            foreach (var scenario in Labels.Keys.Where(s => rows.Any(r => r.Scenario == s)))
            {
                TargetResult Side(string target)
                {
                    var result = Aggregate([.. rows.Where(r => r.Scenario == scenario && r.Target == target).OrderBy(r => r.Round)]);
                    valid &= result.Errors() == 0;
                    if (result.ForeignCpuPct > NoisyForeignCpuPct)
                    {
                        noisy.Add(Invariant($"{suite}/{target}/{scenario} {Py(result.ForeignCpuPct)}%"));
                    }

                    return result;
                }

                var (a, b) = (Side("a"), Side("b"));
                var ratio = Math.Round(a.Rps / b.Rps, 3);
                var cpuRatio = Math.Round(a.ServerCpuMsPerRequest / Math.Max(b.ServerCpuMsPerRequest, 1e-9), 3);
                string? target = null;
                bool? pass = null;
                foreach (var goal in config.Targets.GetValueOrDefault(scenario, []))
                {
                    var text = goal.Throughput ? Invariant($"req/s >= {goal.X:F2}x") : Invariant($"CPU/request <= {goal.X:F2}x");
                    var value = goal.Throughput ? ratio : cpuRatio;
                    var met = goal.Throughput ? ratio >= goal.X : cpuRatio <= goal.X;
                    checks.Add(Check($"{suite} {scenario}: {config.A} {text} {config.B}", value, goal.X, met, goal.Issue));
                    target = target is null ? text : $"{target}, {text}";
                    pass = (pass ?? true) && met;
                }

                scenarios[scenario] = new ScenarioResult(
                    a, b, ratio, [.. a.RpsPerRound.Zip(b.RpsPerRound, (x, y) => Math.Round(x / y, 3))], cpuRatio,
                    measured.Quiet.FirstOrDefault(q => q.Suite == suite && q.Scenario == scenario)?.QuietWaitS, target, pass);
            }

            MemoryResult? MemoryOf(string target) => measured.Memory.LastOrDefault(m => m.Suite == suite && m.Target == target) is { } m
                ? new(Mb(m.HwmKb), Mb(m.RssKb), Mb(m.RssAnonKb), Mb(m.RssFileKb))
                : null;
            var memory = new SuiteMemory(MemoryOf("a"), MemoryOf("b"), MemoryOf("empty"), null);

            SuiteColdStart? coldStart = null;
            TargetResult? emptyHello = null;
            HelloRatio? helloRatio = null;
            if (measured.ColdStarts.Any(c => c.Suite == suite && c.Target == "a"))
            {
                ColdStartSide Side(string target)
                {
                    var runs = measured.ColdStarts.Where(c => c.Suite == suite && c.Target == target).Select(c => c.Result).ToList();
                    var workers = runs.Where(r => r.ChildMedianMs is not null).Select(r => r.ChildMedianMs!.Value).ToList();
                    return new([.. runs.Select(r => r.MedianMs)], Median(runs.Select(r => r.MedianMs)), workers, Median(workers));
                }

                coldStart = new SuiteColdStart(Side("a"), Side("b"), null);
            }

            if (suite == "sqlite")
            {
                if (coldStart?.A.MedianMs is { } ms)
                {
                    checks.Add(Check(Invariant($"sqlite: dev server cold start median <= {DevServerColdStartTargetMs} ms"), ms,
                        DevServerColdStartTargetMs, ms <= DevServerColdStartTargetMs, "6"));
                }

                if (memory.A is { } mine)
                {
                    checks.Add(Check(Invariant($"sqlite: dev server peak RSS <= {DevServerPeakRssTargetMb} MB"), mine.PeakRssMb,
                        DevServerPeakRssTargetMb, mine.PeakRssMb <= DevServerPeakRssTargetMb, "6"));
                }
            }

            if (suite == "functions")
            {
                if (coldStart is { A.WorkerMedianMs: { } ours and not 0, B.WorkerMedianMs: { } empty and not 0 })
                {
                    var ratio = ours / empty;
                    coldStart = coldStart with { WorkerRatio = Math.Round(ratio, 3) };
                    checks.Add(Check(Invariant($"functions: cold start (worker launch -> first 200) <= {FunctionsColdStartRatio}x the empty app's"),
                        ratio, FunctionsColdStartRatio, ratio <= FunctionsColdStartRatio, "20"));
                }

                if (memory is { A: { } worker, Empty: { } emptyWorker })
                {
                    var ratio = worker.PeakRssMb / emptyWorker.PeakRssMb;
                    memory = memory with { WorkerRatio = Math.Round(ratio, 3) };
                    checks.Add(Check(Invariant($"functions: worker peak RSS under load <= {FunctionsPeakRssRatio}x the empty app's"),
                        ratio, FunctionsPeakRssRatio, ratio <= FunctionsPeakRssRatio, "12"));
                }

                var helloRounds = measured.Load.Where(r => r.Suite == suite && r.Target == "empty" && r.Scenario == "hello").OrderBy(r => r.Round).ToArray();
                if (helloRounds.Length > 0)
                {
                    emptyHello = Aggregate([.. helloRounds]);
                    valid &= emptyHello.Errors() == 0;
                    if (emptyHello.ForeignCpuPct > NoisyForeignCpuPct)
                    {
                        noisy.Add(Invariant($"{suite}/empty/hello {Py(emptyHello.ForeignCpuPct)}%"));
                    }
                }

                if (emptyHello is { } hello && scenarios.TryGetValue("get", out var get))
                {
                    var ratio = get.A.Rps / hello.Rps;
                    helloRatio = new HelloRatio(
                        Math.Round(ratio, 3),
                        [.. get.A.RpsPerRound.Zip(hello.RpsPerRound, (x, y) => Math.Round(x / y, 3))],
                        Math.Round(get.A.ServerCpuMsPerRequest / Math.Max(hello.ServerCpuMsPerRequest, 1e-9), 3));
                    checks.Add(Check(Invariant($"functions get: Functions GET req/s >= {FunctionsGetToHelloRatio}x the empty app's hello (alternating rounds)"),
                        ratio, FunctionsGetToHelloRatio, ratio >= FunctionsGetToHelloRatio, "20"));
                }
            }

            suites[suite] = new SuiteResult(TitleFor(config.Title, meta), config.A, config.B, scenarios, memory, coldStart, emptyHello, helloRatio);
        }

        return new BenchResult(meta, suites, checks, valid, noisy, valid && checks.All(c => c.Pass));
    }

    /// <summary>Requests/s over all rounds; latency percentiles as the median of the rounds'.</summary>
    private static TargetResult Aggregate(IReadOnlyList<LoadRound> rounds)
    {
        var requests = rounds.Sum(r => r.Wrk.Requests);
        var perRequest = 1000.0 / Math.Max(requests, 1);
        double MedianLatency(Func<Latency, double> of) => Math.Round(Median(rounds.Select(r => of(r.Wrk.LatencyMs)))!.Value, 3);
        return new TargetResult(
            Rps: Math.Round(requests / rounds.Sum(r => r.Wrk.DurationS), 1),
            RpsPerRound: [.. rounds.Select(r => r.Wrk.Rps)],
            Requests: requests,
            LatencyMs: new Latency(
                MedianLatency(l => l.Mean), MedianLatency(l => l.P50), MedianLatency(l => l.P90), MedianLatency(l => l.P99),
                rounds.Max(r => r.Wrk.LatencyMs.Max)),
            Non2xx: rounds.Sum(r => r.Wrk.Non2xx),
            SocketErrors: SocketErrors.Sum(rounds.Select(r => r.Wrk.Errors)),
            ServerCpuS: Math.Round(rounds.Sum(r => r.ServerCpuS), 2),
            ServerCpuMsPerRequest: Math.Round(perRequest * rounds.Sum(r => r.ServerCpuS), 4),
            DatabaseCpuMsPerRequest: Math.Round(perRequest * rounds.Sum(r => r.DatabaseCpuS), 4),
            ServerCpuMsPerRequestParts: [.. Enumerable.Range(0, rounds[0].ServerCpuPartsS.Count)
                .Select(i => Math.Round(perRequest * rounds.Sum(r => r.ServerCpuPartsS[i]), 4))],
            WrkCpuS: Math.Round(rounds.Sum(r => r.WrkCpuS), 2),
            ForeignCpuPct: Math.Round(rounds.Average(r => r.ForeignCpuPct), 1),
            RssMbAfter: Mb(rounds[^1].RssKb));
    }

    private static TargetCheck Check(string name, double? value, double target, bool pass, string issue) =>
        new(name, value is { } v ? Math.Round(v, 3) : null, target, pass, issue);

    private static double Mb(long kb) => Math.Round(kb / 1024.0, 1);

    public static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? null
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>A number as Python prints it (the figures of the targets table and of the noisy list): 12.0, not 12.</summary>
    public static string Py(double? value) => value switch
    {
        null => "None",
        { } v when double.IsNaN(v) => "nan",
        { } v when v == Math.Floor(v) && Math.Abs(v) < 1e16 => Invariant($"{v:F1}"),
        { } v => Invariant($"{v:R}"),
    };
}
