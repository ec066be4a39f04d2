using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;

namespace UserFunctions.Tests.Data;

/// <summary>
/// One private PostgreSQL cluster for the whole test run: <c>initdb</c> into a temp folder, listening on 127.0.0.1 on a
/// free port, password (SCRAM) authentication. It is stopped and its folder deleted when the test process exits.
/// Each test class creates its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed partial class PostgresServer
{
    private const string InstallHint =
        "Install PostgreSQL (`sudo apt-get install -y postgresql`, which .ci/run does; `brew install postgresql@15`), or set PG_BIN to the folder of its initdb.";

    private static readonly Lazy<Task<PostgresServer>> Instance = new(StartAsync);

    // Apple silicon, Intel.
    private static readonly string[] HomebrewPrefixes = ["/opt/homebrew/opt", "/usr/local/opt"];

    private static readonly SemaphoreSlim CreateDatabaseLock = new(1, 1);

    private readonly Cluster _cluster;
    private int _databases;

    private PostgresServer(Cluster cluster, string adminConnectionString)
    {
        _cluster = cluster;
        AdminConnectionString = adminConnectionString;
    }

    /// <summary>A superuser connection string for the <c>postgres</c> database; it carries the password.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Starts the cluster on the first call (once, whatever the number of callers); later calls return it.</summary>
    public static Task<PostgresServer> GetAsync() => Instance.Value;

    /// <summary>Creates a fresh, empty database and returns a connection string for it (with the password).</summary>
    public async Task<string> CreateDatabaseAsync(string? namePrefix = null)
    {
        var prefix = NotIdentifierCharacters().Replace((namePrefix ?? "test").ToLowerInvariant(), "_");
        var name = $"{prefix[..Math.Min(prefix.Length, 40)]}_{Interlocked.Increment(ref _databases)}";

        // Concurrent CREATE DATABASE commands copy the same template; one at a time avoids "template1 is being accessed".
        await CreateDatabaseLock.WaitAsync();
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            CreateDatabaseLock.Release();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var cluster = new Cluster(FindBinaries(), Path.Combine(Path.GetTempPath(), $"userfunctions-pg-{Guid.NewGuid():N}"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.StopAndDelete();
        try
        {
            var password = Guid.NewGuid().ToString("N");
            var port = await cluster.StartAsync(password);
            var admin = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = "postgres",
                Password = password,
                Database = "postgres",
            }.ConnectionString;
            return new PostgresServer(cluster, admin);
        }
        catch
        {
            cluster.StopAndDelete();
            throw;
        }
    }

    // PG_BIN, then Debian's versioned folders, then PATH, then Homebrew's keg-only formulae and the Windows installer's
    // folders (newest version first wherever there are several).
    private static string FindBinaries()
    {
        var initdb = OperatingSystem.IsWindows() ? "initdb.exe" : "initdb";
        var candidates = new[] { Environment.GetEnvironmentVariable("PG_BIN") }
            .Concat(VersionFolders("/usr/lib/postgresql", "*").Select(v => Path.Combine(v, "bin")))
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            .Concat(HomebrewPrefixes.SelectMany(opt => VersionFolders(opt, "postgresql*")).Select(v => Path.Combine(v, "bin")))
            .Concat(VersionFolders(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles), "PostgreSQL"), "*").Select(v => Path.Combine(v, "bin")));
        return candidates.FirstOrDefault(bin => !string.IsNullOrEmpty(bin) && File.Exists(Path.Combine(bin, initdb)))
            ?? throw new InvalidOperationException(
                $"The PostgreSQL tests need a PostgreSQL server: no initdb in $PG_BIN, /usr/lib/postgresql/*/bin, PATH, Homebrew's or the Windows installer's folders. {InstallHint}");
    }

    private static IEnumerable<string> VersionFolders(string parent, string pattern) =>
        Directory.Exists(parent)
            ? Directory.GetDirectories(parent, pattern).OrderByDescending(v => int.TryParse(new string(Path.GetFileName(v).Where(char.IsDigit).ToArray()), out var n) ? n : 0)
            : [];

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex NotIdentifierCharacters();

    /// <summary>The cluster's folder and processes. PostgreSQL refuses to run as root, so as root it runs as the postgres user.</summary>
    private sealed class Cluster(string bin, string folder)
    {
        private readonly bool _asRoot = Environment.UserName == "root";
        private string Data => Path.Combine(folder, "data");
        private string Log => Path.Combine(folder, "server.log");

        public async Task<int> StartAsync(string password)
        {
            Directory.CreateDirectory(folder);
            StartWatchdog();
            var passwordFile = Path.Combine(folder, "password");
            await File.WriteAllTextAsync(passwordFile, password);
            if (_asRoot)
            {
                await RunAsync("chown", ["postgres:", folder, passwordFile], asPostgres: false);
            }

            await RunAsync(Path.Combine(bin, "initdb"),
                ["-D", Data, "-U", "postgres", "--auth=scram-sha-256", $"--pwfile={passwordFile}", "--encoding=UTF8", "--locale=C", "--no-sync"]);
            File.Delete(passwordFile);

            // A throwaway cluster: durability off for speed; room for every test class's connection pool.
            await File.AppendAllTextAsync(Path.Combine(Data, "postgresql.conf"), $"""

                listen_addresses = '127.0.0.1'
                unix_socket_directories = '{folder}'
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                max_connections = 300

                """);

            // The free port can be taken between the check and the start; then try another one.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                await File.AppendAllTextAsync(Path.Combine(Data, "postgresql.conf"), $"port = {port}\n");
                try
                {
                    await RunAsync(Path.Combine(bin, "pg_ctl"), ["start", "-D", Data, "-l", Log, "-w", "-t", "60"]);
                    return port;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                }
                catch (InvalidOperationException ex)
                {
                    var log = File.Exists(Log) ? await File.ReadAllTextAsync(Log) : "(no server log)";
                    throw new InvalidOperationException($"{ex.Message}\nServer log:\n{log}", ex);
                }
            }
        }

        public void StopAndDelete()
        {
            try
            {
                if (File.Exists(Path.Combine(Data, "postmaster.pid")))
                {
                    RunAsync(Path.Combine(bin, "pg_ctl"), ["stop", "-D", Data, "-m", "immediate", "-w"]).GetAwaiter().GetResult();
                }
            }
            catch (InvalidOperationException)
            {
                // Already stopped; the folder goes anyway.
            }

            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        // vstest gives the test process about 100 ms to exit, too little for ProcessExit to stop the server; and a crashed or
        // killed run never gets there. So a detached shell waits for this process to end, then stops the cluster and deletes it.
        private void StartWatchdog()
        {
            var asPostgres = _asRoot ? "runuser -u postgres -- " : "";
            var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; " +
                $"{asPostgres}'{Path.Combine(bin, "pg_ctl")}' stop -D '{Data}' -m immediate -w; rm -rf '{folder}'";
            var start = new ProcessStartInfo("setsid") { ArgumentList = { "sh", "-c", $"( {script} ) </dev/null >/dev/null 2>&1 &" } };
            using var shell = Process.Start(start) ?? throw new InvalidOperationException("Could not start the cluster's watchdog.");
            shell.WaitForExit();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private async Task RunAsync(string file, string[] arguments, bool asPostgres = true)
        {
            var start = new ProcessStartInfo(asPostgres && _asRoot ? "runuser" : file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = folder,
            };
            if (asPostgres && _asRoot)
            {
                foreach (var argument in new[] { "-u", "postgres", "--", file })
                {
                    start.ArgumentList.Add(argument);
                }
            }

            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"`{Path.GetFileName(file)} {string.Join(' ', arguments)}` exited with {process.ExitCode}: {await error}{await output}");
            }
        }
    }
}
