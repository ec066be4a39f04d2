using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>What a benchmark measures: the API (as the dev server or as the Functions app) and its yardsticks.</summary>
internal enum ServerKind
{
    DevServer,
    Baseline,
    Functions,
    Empty,
}

/// <summary>The database a server is given: a SQLite file, a PostgreSQL database, or none (the empty app).</summary>
internal abstract record Database
{
    public sealed record Sqlite(string File) : Database;

    public sealed record Postgres(string ConnectionString) : Database;

    public sealed record None : Database;
}

/// <summary>Where the built and published servers are.</summary>
internal sealed record BenchPaths(string Repo, bool ApiReadyToRun)
{
    public string Bench => Path.Combine(Repo, "bench");
    public string Results => Path.Combine(Bench, "results");
    public string DevServerBin => Path.Combine(Repo, "UserFunctions.DevServer", "bin", "Release", "net10.0");
    public string ReadyToRunBin => Path.Combine(Results, "publish-r2r");
    public string ApiBin => ApiReadyToRun ? ReadyToRunBin : DevServerBin;
    public string ApiDll => Path.Combine(ApiBin, "UserFunctions.DevServer.dll");
    public string BaselineBin => Path.Combine(Bench, "Baseline", "bin", "Release", "net10.0");
    public string BaselineDll => Path.Combine(BaselineBin, "UserFunctions.Bench.Baseline.dll");
    public string TestHostDll => Path.Combine(Repo, "UserFunctions.TestHost", "bin", "Release", "net10.0", "UserFunctions.TestHost.dll");
    public string FunctionsBin => Path.Combine(Results, "publish-functions");
    public string EmptyBin => Path.Combine(Results, "publish-empty-functions");

    /// <summary>The repository that holds this tool: the first folder up from it with UserFunctions.sln.</summary>
    public static string FindRepo()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "UserFunctions.sln")))
            {
                return folder.FullName;
            }
        }

        throw new BenchException($"no UserFunctions.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>The command line and environment of each kind of server.</summary>
internal sealed class ServerLauncher(BenchPaths paths, RunOptions options)
{
    // Logging at Warning: the API logs every write at Information otherwise (the Functions app keeps its own default,
    // which sends no per-request information log to the host).
    private static readonly string[] CommonEnv =
        ["Logging__LogLevel__Default=Warning", "Logging__LogLevel__Microsoft.AspNetCore=Warning", "ASPNETCORE_ENVIRONMENT=Production"];

    /// <param name="suiteEnv">Set after every other variable: what a suite's own server needs (the telemetry suite's OTEL_* settings).</param>
    public ProcessStartInfo StartInfo(ServerKind kind, int port, Database database, IEnumerable<string>? suiteEnv = null)
    {
        var url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        var (folder, arguments) = kind switch
        {
            ServerKind.DevServer => (paths.ApiBin, new[] { paths.ApiDll, "--urls", url }),
            ServerKind.Baseline => (paths.BaselineBin, [paths.BaselineDll, "--urls", url]),
            ServerKind.Functions => (paths.FunctionsBin, [paths.TestHostDll, "--app", paths.FunctionsBin, "--urls", url, "--no-auth"]),
            ServerKind.Empty => (paths.EmptyBin, [paths.TestHostDll, "--app", paths.EmptyBin, "--urls", url, "--no-auth"]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var yardstick = kind is ServerKind.Baseline or ServerKind.Empty;
        IEnumerable<string> env = kind is ServerKind.Functions or ServerKind.Empty ? [] : CommonEnv;
        env = database switch
        {
            Database.Postgres pg => env.Concat(["Database__Provider=PostgreSql", $"ConnectionStrings__Users={pg.ConnectionString}"]),
            Database.Sqlite sqlite => env.Append($"ConnectionStrings__Users=Data Source={sqlite.File}"),
            _ => env,
        };
        foreach (var variable in env.Concat(yardstick ? options.BaselineEnv : options.ApiEnv).Concat(suiteEnv ?? []))
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            info.Environment[variable[..equals]] = variable[(equals + 1)..];
        }

        return info;
    }
}

/// <summary>
/// A server this run started, its output going to a log file. Disposing it stops it and its children (the test host's
/// worker); so does Ctrl-C or SIGTERM, through <see cref="StopAll"/>.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly List<ServerProcess> Started = [];

    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServerProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ServerProcess Start(ProcessStartInfo info, string logFile)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var log = new StreamWriter(logFile, append: false, Encoding.UTF8) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        DataReceivedEventHandler write = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += write;
        process.ErrorDataReceived += write;
        if (!process.Start())
        {
            throw new BenchException($"could not start {info.FileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, log);
        lock (Started)
        {
            Started.Add(server);
        }

        return server;
    }

    /// <summary>The worker process the Functions test host starts as its child.</summary>
    public int Worker() => ProcFs.ChildrenOf(Id) is [var worker, ..]
        ? worker
        : throw new BenchException("no worker process under the test host");

    public void Dispose()
    {
        lock (Started)
        {
            Started.Remove(this);
        }

        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }

        _process.WaitForExit();
        lock (_log)
        {
            _log.Dispose();
        }

        _process.Dispose();
    }

    public static void StopAll()
    {
        lock (Started)
        {
            foreach (var server in Started)
            {
                try
                {
                    server._process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }
}
