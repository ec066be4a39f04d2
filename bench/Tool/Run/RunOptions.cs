using System.Globalization;
using System.Text.RegularExpressions;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>The arguments of <c>run</c> (and of <c>bash bench/run.sh</c>, which passes them on), checked.</summary>
internal sealed partial record RunOptions(
    IReadOnlyList<string> Suites,
    int Duration,
    int Rounds,
    int Warmup,
    int Connections,
    int Threads,
    int ColdStartRuns,
    IReadOnlyList<string> Scenarios,
    IReadOnlyList<string> ApiEnv,
    IReadOnlyList<string> BaselineEnv,
    string Label,
    bool Build,
    bool ApiReadyToRun)
{
    public const string Usage = """
        bash bench/run.sh [--suites sqlite,functions,postgresql] [--duration 12] [--rounds 3] [--warmup 10] [--connections 32]
                          [--threads 2] [--coldstart-runs 7] [--scenarios get,list,post,put,patch,post-keyed] [--env NAME=VALUE]...
                          [--baseline-env NAME=VALUE]... [--label NAME] [--no-build] [--api-r2r]
        (the same as: dotnet run -c Release --project bench/Tool -- run [arguments])

        Suites (each: ours next to its yardstick, alternating rounds):
          sqlite      the dev server on SQLite       next to a raw Microsoft.Data.Sqlite server (bench/Baseline)
          functions   the Functions app (ReadyToRun publish, as deployed) behind UserFunctions.TestHost
                                                     next to the dev server on the same seeded SQLite database; then cold start
                                                     and worker memory next to bench/EmptyFunctions published the same way
          postgresql  the dev server on PostgreSQL   next to a raw Npgsql server, same private PostgreSQL cluster
          telemetry   not in the default list (about 2 x 4 pairs of load): GET by id and POST of the dev server (SQLite)
                      and of the Functions app, exporting OTLP/HTTP at full sampling to a sink in this driver next to no
                      exporter; then no exporter next to OTEL_SDK_DISABLED=true. --suites telemetry runs it.
        --env sets an environment variable for "ours" in every suite (the dev server, the Functions worker); --baseline-env
        for the yardsticks; in the telemetry suite an OTEL_* one replaces the suite's own setting of the exporting server
        (e.g. --env OTEL_TRACES_SAMPLER=parentbased_traceidratio --env OTEL_TRACES_SAMPLER_ARG=0.1).
        --api-r2r runs the sqlite suite's dev server from a ReadyToRun publish.
        The shortest run: --duration 1 --rounds 1 --warmup 0 --coldstart-runs 1 (and --scenarios get).
        Writes bench/results/latest.json (and bench/results/<label>.json with --label) and prints every table.
        """;

    public static readonly string[] AllSuites = ["sqlite", "functions", "postgresql", "telemetry"];
    public static readonly string[] AllScenarios = ["get", "list", "post", "put", "patch", "post-keyed"];

    public int RoundSeconds => Duration / Rounds;

    public bool Has(string suite) => Suites.Contains(suite);

    /// <summary>Both the functions and the telemetry suites run the published Functions app.</summary>
    public bool PublishesFunctions => Has("functions") || Has("telemetry");

    /// <summary>Parses and checks the arguments; throws <see cref="UsageException"/> or <see cref="BenchException"/>.</summary>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        string suites = "sqlite,functions,postgresql", scenarios = "get,list,post,put,patch,post-keyed", label = "";
        string duration = "12", rounds = "3", warmup = "10", connections = "32", threads = "2", coldStartRuns = "7";
        bool build = true, apiReadyToRun = false;
        List<string> apiEnv = [], baselineEnv = [];

        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            string Variable() => Value() is var v && v.Contains('=', StringComparison.Ordinal)
                ? v
                : throw new BenchException($"{args[i - 1]} takes NAME=VALUE");

            switch (args[i])
            {
                case "--suites": suites = Value(); break;
                case "--duration": duration = Value(); break;
                case "--warmup": warmup = Value(); break;
                case "--rounds": rounds = Value(); break;
                case "--connections": connections = Value(); break;
                case "--threads": threads = Value(); break;
                case "--coldstart-runs": coldStartRuns = Value(); break;
                case "--scenarios": scenarios = Value(); break;
                case "--env": apiEnv.Add(Variable()); break;
                case "--baseline-env": baselineEnv.Add(Variable()); break;
                case "--label": label = Value(); break;
                case "--no-build": build = false; break;
                case "--api-r2r": apiReadyToRun = true; break;
                case "-h" or "--help": throw new UsageException(null);
                default: throw new UsageException($"unknown argument {args[i]}");
            }
        }

        var options = new RunOptions(
            Names(suites, AllSuites, "suite"), Whole(duration), Whole(rounds), Whole(warmup), Whole(connections), Whole(threads),
            Whole(coldStartRuns), Names(scenarios, AllScenarios, "scenario"), apiEnv, baselineEnv, label, build, apiReadyToRun);
        Check(options.Duration is >= 1 and <= 120, "--duration must be 1..120 seconds");
        Check(options.Rounds >= 1 && options.Duration % options.Rounds == 0, "--duration must be a multiple of --rounds");
        Check(options.Warmup <= 60, "--warmup must be at most 60 seconds");
        Check(options.ColdStartRuns >= 1, "--coldstart-runs must be at least 1");
        Check(label.Length == 0 || LabelPattern().IsMatch(label), "--label may use only A-Z a-z 0-9 . _ -");
        return options;
    }

    private static int Whole(string value) =>
        value.Length > 0 && value.All(char.IsAsciiDigit) && int.TryParse(value, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new BenchException($"durations, counts and connections are whole numbers (got '{value}')");

    private static string[] Names(string list, string[] known, string what)
    {
        var names = list.Split(',');
        foreach (var name in names)
        {
            Check(known.Contains(name), $"unknown {what} '{name}' ({string.Join(", ", known)})");
        }

        return names;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new BenchException(message);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex LabelPattern();
}

/// <summary>A reason to stop the run; printed as <c>bench: message</c>, exit code 1.</summary>
internal sealed class BenchException(string message) : Exception(message);

/// <summary>Bad arguments (or --help, with no problem): the usage is printed after the problem, exit code 2 (0 for --help).</summary>
internal sealed class UsageException(string? problem) : Exception(problem ?? "usage")
{
    public string? Problem => problem;
}
