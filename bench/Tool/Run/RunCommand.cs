using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using static System.FormattableString;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>
/// The <c>run</c> command (bash bench/run.sh): throughput and latency (wrk over loopback), CPU per request, cold start and
/// peak memory of the paths users run, each next to a yardstick, in alternating rounds. See docs/performance.md.
/// </summary>
internal sealed partial class RunCommand : IDisposable
{
    private const int Users = 10000;
    private const int PageSize = 20;

    private readonly RunOptions _options;
    private readonly BenchPaths _paths;
    private readonly ServerLauncher _launcher;
    private readonly Wrk _wrk;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _runId = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
    private readonly string _work;
    private readonly Measurements _measured;
    private readonly int _portA = Port("BENCH_API_PORT", 5180);
    private readonly int _portB = Port("BENCH_BASELINE_PORT", 5181);
    private readonly int _portEmpty = Port("BENCH_EMPTY_PORT", 5183);
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private (string Api, string Baseline)? _postgresDatabases;
    private int? _postmaster;

    private RunCommand(RunOptions options)
    {
        _options = options;
        _paths = new BenchPaths(BenchPaths.FindRepo(), options.ApiReadyToRun);
        _launcher = new ServerLauncher(_paths, options);
        _wrk = new Wrk(Path.Combine(_paths.Bench, "wrk"), options.Threads, options.Connections, Users);
        _work = Path.Combine(_paths.Results, "runs", _runId);
        _measured = new Measurements(_work);
    }

    /// <summary>One server of the current suite: "a" is ours, "b" the yardstick. CPU counts for the CpuPids; memory is the RssPid's.</summary>
    private sealed record Slot(string Name, int Port, string PagesFile, ServerProcess Server, IReadOnlyList<int> CpuPids, int RssPid);

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var options = RunOptions.Parse(args);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => ServerProcess.StopAll());
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => ServerProcess.StopAll());
            using var run = new RunCommand(options);
            try
            {
                await run.RunAsync();
            }
            finally
            {
                ServerProcess.StopAll();
            }

            return 0;
        }
        catch (UsageException usage)
        {
            if (usage.Problem is not null)
            {
                Console.Error.WriteLine($"bench: {usage.Problem}");
            }

            Console.WriteLine(RunOptions.Usage);
            return usage.Problem is null ? 0 : 2;
        }
        catch (BenchException failure)
        {
            Console.Error.WriteLine($"bench: {failure.Message}");
            return 1;
        }
    }

    /// <summary>The <c>report</c> command: rebuilds a past run's result.json from its raw files (and its meta) and prints the tables.</summary>
    public static async Task<int> ReportAgainAsync(string folder)
    {
        var resultFile = Path.Combine(folder, "result.json");
        if (!File.Exists(resultFile))
        {
            Console.Error.WriteLine($"report: no {resultFile}");
            return 1;
        }

        using var previous = JsonDocument.Parse(await File.ReadAllTextAsync(resultFile));
        var meta = previous.RootElement.GetProperty("meta").Deserialize<RunMeta>(Json.Options)!;
        var result = Report.Build(meta, Measurements.Read(folder));
        await File.WriteAllTextAsync(resultFile, JsonSerializer.Serialize(result, Json.Indented) + "\n");
        Tables.Print(result, Console.Out);
        OtlpSink.Print(folder, Console.Out);
        return 0;
    }

    public void Dispose() => _http.Dispose();

    private async Task RunAsync()
    {
        CheckPrerequisites();
        var loadAverageAtStart = ProcFs.LoadAverage();
        Directory.CreateDirectory(_work);
        Environment.SetEnvironmentVariable("DOTNET_CLI_TELEMETRY_OPTOUT", "1");
        Environment.SetEnvironmentVariable("DOTNET_NOLOGO", "1");
        Environment.SetEnvironmentVariable("DOTNET_SKIP_FIRST_TIME_EXPERIENCE", "1");

        await BuildAsync();

        Step($"seed {Users} users (API migrations, one transaction)");
        if (Seeder.Run(Path.Combine(_work, "seed.db"), Users, Console.Error) != 0)
        {
            throw new BenchException("seeding failed");
        }

        await File.WriteAllLinesAsync(Path.Combine(_work, "pages-api.txt"), Pages.Of(api: true, Users, PageSize));
        await File.WriteAllLinesAsync(Path.Combine(_work, "pages-baseline.txt"), Pages.Of(api: false, Users, PageSize));
        if (_options.Has("postgresql"))
        {
            await StartPostgresAsync();
        }

        foreach (var suite in _options.Suites)
        {
            await (suite == "telemetry" ? RunTelemetrySuiteAsync() : RunSuiteAsync(suite));
        }

        await ReportAsync(loadAverageAtStart);
    }

    private void CheckPrerequisites()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':');
        if (!path.Any(folder => File.Exists(Path.Combine(folder, "wrk"))))
        {
            throw new BenchException("wrk is required (wrk: apt-get install -y wrk)");
        }

        // The tests' PostgresServer looks in the same places; this only fails before the builds rather than after.
        var postgresBins = new[] { Environment.GetEnvironmentVariable("PG_BIN") ?? "" }
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")) : []);
        if (_options.Has("postgresql") && !postgresBins.Any(bin => File.Exists(Path.Combine(bin, "initdb"))))
        {
            throw new BenchException("the postgresql suite needs PostgreSQL's initdb (apt-get install -y postgresql, or PG_BIN=<dir>)");
        }

        foreach (var port in new[] { _portA, _portB, _portEmpty })
        {
            if (IsListening(port))
            {
                throw new BenchException(Invariant(
                    $"port {port} on 127.0.0.1 is already in use; stop whatever listens there or set BENCH_API_PORT / BENCH_BASELINE_PORT / BENCH_EMPTY_PORT"));
            }
        }
    }

    private async Task BuildAsync()
    {
        if (_options.Build)
        {
            Step("build (Release)");
            foreach (var project in new[] { "UserFunctions.DevServer", "bench/Baseline", "UserFunctions.TestHost" })
            {
                await DotnetAsync($"build of {project}", "build.log", "build", Path.Combine(_paths.Repo, project), "-c", "Release");
            }

            if (_options.PublishesFunctions)
            {
                // As deployed: framework-dependent linux-x64, ReadyToRun (both projects turn it on for that runtime identifier).
                Step("publish the Functions app and the empty app (linux-x64, ReadyToRun)");
                foreach (var (project, folder) in new[] { ("UserFunctions", _paths.FunctionsBin), ("bench/EmptyFunctions", _paths.EmptyBin) })
                {
                    if (Directory.Exists(folder))
                    {
                        Directory.Delete(folder, recursive: true);
                    }

                    await DotnetAsync($"publish of {project}", "publish.log", "publish", Path.Combine(_paths.Repo, project), "-c", "Release",
                        "-r", "linux-x64", "--self-contained", "false", "-o", folder);
                }
            }
        }

        if (_options.ApiReadyToRun)
        {
            Step("publish the dev server with ReadyToRun");
            await DotnetAsync("ReadyToRun publish", "publish.log", "publish", Path.Combine(_paths.Repo, "UserFunctions.DevServer"), "-c", "Release",
                "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", _paths.ReadyToRunBin);
        }

        foreach (var dll in new[] { _paths.ApiDll, _paths.BaselineDll, _paths.TestHostDll })
        {
            if (!File.Exists(dll))
            {
                throw new BenchException($"{dll} is missing; run without --no-build");
            }
        }

        if (_options.PublishesFunctions && !(File.Exists(Path.Combine(_paths.FunctionsBin, "UserFunctions.dll"))
            && File.Exists(Path.Combine(_paths.EmptyBin, "UserFunctions.Bench.EmptyFunctions.dll"))))
        {
            throw new BenchException("the Functions publishes are missing; run without --no-build");
        }
    }

    /// <summary>The benchmark's PostgreSQL cluster, seeded once and copied, so each server gets an identical database.</summary>
    private async Task StartPostgresAsync()
    {
        Step("start a private PostgreSQL cluster (the tests' PostgresServer) and seed it");
        var postgres = await BenchPostgres.StartAsync(Users, Console.Error);
        _postmaster = postgres.Postmaster;
        _postgresDatabases = (await postgres.CopyOfSeedAsync("users_api"), await postgres.CopyOfSeedAsync("users_baseline"));
    }

    private async Task RunSuiteAsync(string suite)
    {
        string InWork(string name) => Path.Combine(_work, name);
        string Copy(string name)
        {
            File.Copy(InWork("seed.db"), InWork(name), overwrite: true);
            return InWork(name);
        }

        (ServerKind KindA, Database DatabaseA, ServerKind KindB, Database DatabaseB, string PagesA, string PagesB) setup = suite switch
        {
            "sqlite" => (ServerKind.DevServer, new Database.Sqlite(Copy("sqlite-a.db")), ServerKind.Baseline,
                new Database.Sqlite(Copy("sqlite-b.db")), "pages-api.txt", "pages-baseline.txt"),
            "functions" => (ServerKind.Functions, new Database.Sqlite(Copy("functions-a.db")), ServerKind.DevServer,
                new Database.Sqlite(Copy("functions-b.db")), "pages-api.txt", "pages-api.txt"),
            _ => (ServerKind.DevServer, new Database.Postgres(_postgresDatabases!.Value.Api), ServerKind.Baseline,
                new Database.Postgres(_postgresDatabases!.Value.Baseline), "pages-api.txt", "pages-baseline.txt"),
        };
        var (kindA, databaseA, kindB, databaseB, pagesA, pagesB) = setup;

        Step(Invariant($"{suite}: start {Name(kindA)} (port {_portA}) and {Name(kindB)} (port {_portB})")
            + (suite == "functions" ? Invariant($", and the empty app (port {_portEmpty})") : ""));
        using (var serverA = StartServer(kindA, _portA, databaseA, $"{suite}-a"))
        using (var serverB = StartServer(kindB, _portB, databaseB, $"{suite}-b"))
        using (var empty = suite == "functions" ? StartServer(ServerKind.Empty, _portEmpty, new Database.None(), "functions-empty") : null)
        {
            await WaitOkAsync(Url(_portA, "/api/health"), serverA);
            await WaitOkAsync(Url(_portB, "/api/health"), serverB);
            var a = SlotOf("a", kindA, _portA, InWork(pagesA), serverA);
            var b = SlotOf("b", kindB, _portB, InWork(pagesB), serverB);
            await SmokeAsync(a, $"{suite}-a");
            await SmokeAsync(b, $"{suite}-b");

            // The empty app's hello function is the throughput yardstick of our GET through the same test host: its rounds
            // alternate with the get scenario's (a, b, hello in each round), and its worker's peak memory is ours' yardstick.
            Slot? hello = null;
            if (empty is not null)
            {
                await WaitOkAsync(Url(_portEmpty, "/api/hello"), empty);
                hello = SlotOf("empty", ServerKind.Empty, _portEmpty, "", empty);
            }

            await RunLoadAsync(suite, a, b, hello: hello);
            if (hello is not null && !_options.Scenarios.Contains("get"))
            {
                Step($"functions: the empty app alone ({_options.Warmup} s + {_options.Rounds} x {_options.RoundSeconds} s of GET /api/hello), for its peak memory");
                await RunLoadAsync(suite, hello, null, ["hello"]);
            }

            _measured.Add(MemoryOf(suite, "a", a.RssPid));
            _measured.Add(MemoryOf(suite, "b", b.RssPid));
            if (hello is not null)
            {
                _measured.Add(MemoryOf(suite, "empty", hello.RssPid));
            }
        }

        if (suite == "sqlite")
        {
            Step($"sqlite: cold start, process start to the first 200 from GET /api/users/1, {_options.ColdStartRuns} runs each, alternating");
            await WaitQuietAsync();
            await ColdStartsAsync(suite, (ServerKind.DevServer, new Database.Sqlite(Copy("cold-a.db")), "/api/users/1"),
                (ServerKind.Baseline, new Database.Sqlite(Copy("cold-b.db")), "/api/users/1"));
        }
        else if (suite == "functions")
        {
            Step($"functions: cold start through the test host (worker launch to the first 200), {_options.ColdStartRuns} runs each, alternating");
            await WaitQuietAsync();
            await ColdStartsAsync(suite, (ServerKind.Functions, new Database.Sqlite(Copy("cold-f.db")), "/api/users/1"),
                (ServerKind.Empty, new Database.None(), "/api/hello"));
        }
    }

    private static Slot SlotOf(string name, ServerKind kind, int port, string pagesFile, ServerProcess server)
    {
        if (kind is not (ServerKind.Functions or ServerKind.Empty))
        {
            return new Slot(name, port, pagesFile, server, [server.Id], server.Id);
        }

        // A Functions app's CPU is the test host's and its worker's; its memory is the worker's.
        var worker = server.Worker();
        return new Slot(name, port, pagesFile, server, [server.Id, worker], worker);
    }

    /// <summary>
    /// Per scenario: a warm-up of each server, then alternating rounds (a burst of other work on a shared machine then lands
    /// on all). With <paramref name="hello"/>, the get scenario's rounds take a third window each: the empty app's hello.
    /// </summary>
    private async Task RunLoadAsync(string suite, Slot a, Slot? b, IReadOnlyList<string>? scenarios = null, Slot? hello = null)
    {
        foreach (var scenario in scenarios ?? _options.Scenarios)
        {
            var windows = new List<(Slot Slot, string Scenario)> { (a, scenario) };
            if (b is not null)
            {
                windows.Add((b, scenario));
            }

            if (hello is not null && scenario == "get")
            {
                windows.Add((hello, "hello"));
            }

            Step($"{suite}/{scenario}: {_options.Warmup} s warm-up each, then {_options.Rounds} rounds of {_options.RoundSeconds} s alternating "
                + $"{string.Join(" / ", windows.Select(w => w.Slot.Name))} ({_options.Threads} threads, {_options.Connections} connections)");
            var waited = await WaitQuietAsync();
            if (waited >= 10)
            {
                Console.Error.WriteLine("bench: warning: the machine stayed busy with other work; numbers may be noisy");
            }

            _measured.Add(new QuietWait(suite, scenario, waited));
            if (_options.Warmup > 0)
            {
                foreach (var (slot, load) in windows)
                {
                    await _wrk.RunAsync(slot.Port, load, _options.Warmup, slot.PagesFile, Path.Combine(_work, $"{suite}-{slot.Name}-{load}-warmup.txt"));
                }
            }

            int[] servers = [.. windows.SelectMany(w => w.Slot.CpuPids)];
            for (var round = 1; round <= _options.Rounds; round++)
            {
                foreach (var (slot, load) in windows)
                {
                    _measured.Add(await MeasureAsync(suite, slot, servers, load, round));
                }
            }
        }
    }

    /// <summary>
    /// One measured wrk window: the slot's server CPU (each of its processes too), PostgreSQL's, wrk's, and the "foreign" CPU
    /// that neither the servers, the database nor wrk used, as a share of the machine.
    /// </summary>
    private async Task<LoadRound> MeasureAsync(string suite, Slot slot, int[] bothServers, string scenario, int round)
    {
        var partsBefore = slot.CpuPids.Select(pid => ProcFs.Ticks([pid])).ToArray();
        var before = ProcFs.Ticks(slot.CpuPids);
        var serversBefore = ProcFs.Ticks(bothServers);
        var databaseBefore = PostgresTicks();
        var busyBefore = ProcFs.BusyTicks();
        var wrkBefore = ProcFs.ReapedChildrenTicks();
        var wrk = await _wrk.RunAsync(slot.Port, scenario, _options.RoundSeconds, slot.PagesFile,
            Path.Combine(_work, Invariant($"{suite}-{slot.Name}-{scenario}-{round}.txt")));
        var wrkTicks = ProcFs.ReapedChildrenTicks() - wrkBefore;
        var busy = ProcFs.BusyTicks() - busyBefore;
        var database = PostgresTicks() - databaseBefore;
        var servers = ProcFs.Ticks(bothServers) - serversBefore;
        var own = ProcFs.Ticks(slot.CpuPids) - before;
        var parts = slot.CpuPids.Select((pid, i) => Seconds(ProcFs.Ticks([pid]) - partsBefore[i])).ToList();

        if (slot.Server.HasExited)
        {
            throw new BenchException($"{suite}/{slot.Name} died during {scenario}; see {_work}");
        }

        var foreign = Math.Max(0, ((busy - servers - database) / ProcFs.TicksPerSecond) - (wrkTicks / ProcFs.TicksPerSecond));
        return new LoadRound(suite, slot.Name, scenario, round, Seconds(own), parts, Seconds(database), Seconds(wrkTicks),
            Math.Round(100 * foreign / (_options.RoundSeconds * ProcFs.Cores), 1),
            ProcFs.StatusKb(slot.RssPid, "VmRSS"), ProcFs.StatusKb(slot.RssPid, "VmHWM"), wrk);
    }

    /// <summary>All CPU PostgreSQL has used so far: the postmaster's, its reaped backends' and its live backends'.</summary>
    private long PostgresTicks() => _postmaster is { } pid ? ProcFs.TreeTicks(pid) : 0;

    /// <summary>What the resident set is made of at the end: anonymous (GC heap, JIT code, native allocations) vs file-backed (dlls).</summary>
    private static MemorySample MemoryOf(string suite, string target, int pid) => new(
        suite, target, ProcFs.StatusKb(pid, "VmHWM"), ProcFs.StatusKb(pid, "VmRSS"), ProcFs.StatusKb(pid, "RssAnon"), ProcFs.StatusKb(pid, "RssFile"));

    /// <summary>Alternating cold starts of a and b, each process start to the first 200 from its path.</summary>
    private async Task ColdStartsAsync(string suite, (ServerKind Kind, Database Database, string Path) a, (ServerKind Kind, Database Database, string Path) b)
    {
        await using var log = TextWriter.Synchronized(new StreamWriter(Path.Combine(_work, "coldstart.log"), append: true) { AutoFlush = true });
        for (var run = 1; run <= _options.ColdStartRuns; run++)
        {
            foreach (var (target, (kind, database, path), port) in new[] { ("a", a, _portA), ("b", b, _portB) })
            {
                var result = await ColdStart.MeasureAsync(1, new Uri(Url(port, path)), _launcher.StartInfo(kind, port, database), log, log)
                    ?? throw new BenchException($"cold start of {Name(kind)} failed; see {_work}/coldstart.log");
                _measured.Add(new ColdStartRun(suite, target, run, result));
            }
        }
    }

    /// <summary>
    /// The machine may be shared: before each scenario, wait (at most 10 s) until the other processes use under 20% of it.
    /// Returns the seconds waited.
    /// </summary>
    private static async Task<int> WaitQuietAsync()
    {
        var waited = 0;
        for (; waited < 10; waited++)
        {
            var before = ProcFs.BusyTicks();
            await Task.Delay(TimeSpan.FromSeconds(1));
            if ((ProcFs.BusyTicks() - before) * 100 < 20 * ProcFs.Cores * ProcFs.TicksPerSecond)
            {
                break;
            }
        }

        return waited;
    }

    private ServerProcess StartServer(ServerKind kind, int port, Database database, string logName, IEnumerable<string>? env = null) =>
        ServerProcess.Start(_launcher.StartInfo(kind, port, database, env), Path.Combine(_work, $"{logName}.log"));

    private async Task WaitOkAsync(string url, ServerProcess server)
    {
        var deadline = Stopwatch.StartNew();
        while (await StatusAsync(HttpMethod.Get, url) != 200)
        {
            if (server.HasExited)
            {
                throw new BenchException($"the server for {url} exited; see {_work}");
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new BenchException($"no 200 from {url} within 60 s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// One request of each scenario, with the status the scenario expects: a run is only valid if both servers really do
    /// the work (the load itself counts any status of 400 or more as an error).
    /// </summary>
    private async Task SmokeAsync(Slot slot, string tag)
    {
        var secondPage = File.ReadLines(slot.PagesFile).Skip(1).First();
        (HttpMethod Method, string Path, string? Body, int Expected)[] requests =
        [
            (HttpMethod.Get, "/api/users/1", null, 200),
            (HttpMethod.Get, secondPage, null, 200),
            (HttpMethod.Post, "/api/users", $$"""{"username":"smoke-{{tag}}","email":"smoke-{{tag}}@bench.example"}""", 201),
            (HttpMethod.Put, "/api/users/2", $$"""{"username":"smoke2-{{tag}}","email":"smoke2-{{tag}}@bench.example"}""", 200),
            (HttpMethod.Patch, "/api/users/3", $$"""{"username":"smoke3-{{tag}}"}""", 200),
        ];
        foreach (var (method, path, body, expected) in requests)
        {
            using var request = new HttpRequestMessage(method, Url(slot.Port, path));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var response = await _http.SendAsync(request);
            if ((int)response.StatusCode != expected)
            {
                Console.Error.WriteLine(await response.Content.ReadAsStringAsync());
                throw new BenchException(Invariant($"smoke: {method} {path} on port {slot.Port} gave {(int)response.StatusCode}, expected {expected}"));
            }
        }
    }

    private async Task<int?> StatusAsync(HttpMethod method, string url)
    {
        try
        {
            using var request = new HttpRequestMessage(method, url);
            using var response = await _http.SendAsync(request);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private async Task ReportAsync(string loadAverageAtStart)
    {
        string[] measuredCode = ["UserFunctions.Core", "UserFunctions.DevServer", "UserFunctions"];
        var meta = new RunMeta(
            RunId: _runId,
            Git: await GitAsync("rev-parse", "--short", "HEAD") ?? "unknown",
            // The last commit that changed what was measured (HEAD may only have moved docs), and when the measured dll was built.
            CodeGit: await GitAsync(["log", "-1", "--format=%h", "--", .. measuredCode, "bench", "Directory.Build.props", "Directory.Packages.props"]) ?? "unknown",
            ApiDllBuilt: File.GetLastWriteTimeUtc(_paths.ApiDll).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            UncommittedAppFiles: (await GitAsync(["status", "--porcelain", "--", .. measuredCode]) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length,
            Suites: string.Join(',', _options.Suites),
            DurationS: _options.Duration,
            Rounds: _options.Rounds,
            WarmupS: _options.Warmup,
            Threads: _options.Threads,
            Connections: _options.Connections,
            Users: Users,
            Cores: ProcFs.Cores,
            ApiEnv: string.Join(' ', _options.ApiEnv),
            BaselineEnv: string.Join(' ', _options.BaselineEnv),
            Label: _options.Label,
            ApiR2r: _options.ApiReadyToRun,
            LoadavgAtStart: loadAverageAtStart,
            LoadavgAtEnd: ProcFs.LoadAverage(),
            WallS: (long)_clock.Elapsed.TotalSeconds);

        var result = Report.Build(meta, _measured);
        var json = JsonSerializer.Serialize(result, Json.Indented) + "\n";
        await File.WriteAllTextAsync(Path.Combine(_work, "result.json"), json);
        Tables.Print(result, Console.Out);
        OtlpSink.Print(_work, Console.Out);
        await File.WriteAllTextAsync(Path.Combine(_paths.Results, "latest.json"), json);
        if (_options.Label.Length > 0)
        {
            await File.WriteAllTextAsync(Path.Combine(_paths.Results, $"{_options.Label}.json"), json);
        }

        // Keep the raw output of the last few runs only (databases are the bulk of it).
        foreach (var database in Directory.EnumerateFiles(_work).Where(f => f.EndsWith(".db", StringComparison.Ordinal)
            || f.EndsWith(".db-wal", StringComparison.Ordinal) || f.EndsWith(".db-shm", StringComparison.Ordinal)))
        {
            File.Delete(database);
        }

        foreach (var old in Directory.GetDirectories(Path.Combine(_paths.Results, "runs")).Order(StringComparer.Ordinal).SkipLast(10))
        {
            Directory.Delete(old, recursive: true);
        }

        Console.Error.WriteLine($"results: {Path.Combine(_paths.Results, "latest.json")} (raw: {_work})");
    }

    private async Task<string?> GitAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["-C", _paths.Repo, .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var git = Process.Start(info)!;
            var output = await git.StandardOutput.ReadToEndAsync();
            await git.WaitForExitAsync();
            return git.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs <c>dotnet</c> quietly, its output into a log of the run's folder, printed only if it fails.</summary>
    private async Task DotnetAsync(string what, string logName, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[.. arguments, "--nologo", "-v", "q", "-clp:ErrorsOnly"])
        {
            info.ArgumentList.Add(argument);
        }

        using var dotnet = Process.Start(info)!;
        var output = dotnet.StandardOutput.ReadToEndAsync();
        var error = dotnet.StandardError.ReadToEndAsync();
        await dotnet.WaitForExitAsync();
        var log = await output + await error;
        await File.WriteAllTextAsync(Path.Combine(_work, logName), log);
        if (dotnet.ExitCode != 0)
        {
            Console.Error.Write(log);
            throw new BenchException($"{what} failed");
        }
    }

    private void Step(string message) =>
        Console.Error.WriteLine(Invariant($"==> [{(int)_clock.Elapsed.TotalSeconds,4}s] {message}"));

    private static double Seconds(long ticks) => Math.Round(ticks / ProcFs.TicksPerSecond, 2);

    private static string Url(int port, string path) => Invariant($"http://127.0.0.1:{port}{path}");

    private static string Name(ServerKind kind) => kind.ToString().ToLowerInvariant();

    private static int Port(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), CultureInfo.InvariantCulture, out var port) ? port : fallback;

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
