using System.Net;
using Microsoft.Data.Sqlite;
using Npgsql;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Api;

/// <summary>The database behind an API host, which tests reach directly to count rows and to break things for real.</summary>
public abstract class ApiDatabase : IAsyncDisposable
{
    /// <summary>Creates the database; returns the settings that point a host at it, in configuration-key form (<c>Database:Provider</c>).</summary>
    public abstract Task<IReadOnlyDictionary<string, string?>> CreateAsync();

    public abstract Task<long> CountUsersAsync();

    public abstract Task ExecuteSqlAsync(string sql);

    /// <summary>Empties the table between tests that share a host.</summary>
    public Task DeleteAllUsersAsync() => ExecuteSqlAsync("DELETE FROM \"Users\"");

    /// <summary>Makes the database unreachable for the host until the returned value is disposed.</summary>
    public abstract Task<IAsyncDisposable> TakeOfflineAsync();

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// A SQLite file of its own. The file starts empty and the host migrates it at start-up, as it does for a developer; it
/// is opened with <c>Mode=ReadWrite</c>, so once the file is moved away the host fails instead of creating a new one.
/// </summary>
/// <param name="pooling">False for a host in another process: the test cannot clear that process's pool before it moves the file.</param>
public sealed class SqliteApiDatabase(bool pooling) : ApiDatabase
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"userfunctions-tests-{Guid.NewGuid():N}.db");

    private string HostConnectionString => $"Data Source={_path};Mode=ReadWrite" + (pooling ? "" : ";Pooling=False");

    public override async Task<IReadOnlyDictionary<string, string?>> CreateAsync()
    {
        await File.WriteAllBytesAsync(_path, []);
        return new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Users"] = HostConnectionString,
        };
    }

    public override async Task<long> CountUsersAsync()
    {
        await using var connection = await OpenAsync("Mode=ReadOnly");
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Users";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = await OpenAsync("Mode=ReadWrite");
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override Task<IAsyncDisposable> TakeOfflineAsync()
    {
        ClearHostPool();
        var hidden = _path + ".hidden";
        File.Move(_path, hidden);
        return Task.FromResult<IAsyncDisposable>(new Restore(() => File.Move(hidden, _path)));
    }

    public override ValueTask DisposeAsync()
    {
        ClearHostPool();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm", _path + ".hidden" })
        {
            File.Delete(file);
        }

        return ValueTask.CompletedTask;
    }

    // Only this database's pool: other test classes' hosts run in this process at the same time.
    private void ClearHostPool()
    {
        using var connection = new SqliteConnection(HostConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    private async Task<SqliteConnection> OpenAsync(string mode)
    {
        var connection = new SqliteConnection($"Data Source={_path};{mode};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private sealed class Restore(Action restore) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            restore();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// A database of its own on the test run's PostgreSQL cluster, which the host migrates at start-up
/// (<c>Database:MigrateOnStartup=true</c>). The host reaches the server through a <see cref="FaultProxy"/>, so taking the
/// database offline cuts the host's connections for real; the test itself connects directly.
/// </summary>
/// <param name="settings">
/// Settings over the defaults below, for example a retry budget; a <c>ConnectionStrings:Users</c> entry here holds
/// keywords added to the connection string (such as <c>Timeout=2;Maximum Pool Size=2</c>).
/// </param>
/// <param name="appRole">
/// The host signs in as a login role of its own that owns the database and is not a superuser, so that the database's
/// <c>CONNECTION LIMIT</c> (<see cref="LimitConnectionsAsync"/>) refuses it; superusers are exempt. The test's own
/// connections are then unpooled, since every open connection counts against the limit.
/// </param>
public sealed class PostgreSqlApiDatabase(IReadOnlyDictionary<string, string?>? settings = null, bool appRole = false) : ApiDatabase
{
    private string _connectionString = "";
    private FaultProxy? _proxy;

    /// <summary>The proxy between the host and the server, to break the host's connections with.</summary>
    public FaultProxy Proxy => _proxy ?? throw new InvalidOperationException("The database is not created yet.");

    public override async Task<IReadOnlyDictionary<string, string?>> CreateAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(await (await PostgresServer.GetAsync()).CreateDatabaseAsync("api")) { Pooling = !appRole };
        _connectionString = admin.ConnectionString;
        _proxy = new FaultProxy(new IPEndPoint(IPAddress.Parse(admin.Host!), admin.Port));
        var throughProxy = new NpgsqlConnectionStringBuilder(_connectionString) { Port = _proxy.Port, Timeout = 5, Pooling = true };
        if (appRole)
        {
            var role = $"{admin.Database}_app";
            var password = Guid.NewGuid().ToString("N");
            await ExecuteSqlAsync($"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'");
            await ExecuteSqlAsync($"ALTER DATABASE \"{admin.Database}\" OWNER TO \"{role}\"");
            (throughProxy.Username, throughProxy.Password) = (role, password);
        }

        var result = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:MigrateOnStartup"] = "true",
            // One quick retry keeps the outage tests short; the retry path itself is still taken.
            ["Database:MaxRetryCount"] = "1",
            ["Database:MaxRetryDelaySeconds"] = "1",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (key == "ConnectionStrings:Users")
            {
                throughProxy.ConnectionString += ";" + value;
            }
            else
            {
                result[key] = value;
            }
        }

        result["ConnectionStrings:Users"] = throughProxy.ConnectionString;
        return result;
    }

    public override async Task<long> CountUsersAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM \"Users\"", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public override Task<IAsyncDisposable> TakeOfflineAsync() => Task.FromResult(Proxy.Cut());

    /// <summary>How many queries on this database wait for a lock right now.</summary>
    public async Task<long> QueriesWaitingOnLocksAsync()
    {
        await using var connection = await OpenAsync();
        return await QueriesWaitingOnLocksAsync(connection);
    }

    /// <summary>The same, asked on a connection the test holds (inside its transaction, if it has one).</summary>
    public static async Task<long> QueriesWaitingOnLocksAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction = null)
    {
        // pg_stat_activity is a snapshot taken once per transaction unless cleared.
        await using var command = new NpgsqlCommand(
            "SELECT pg_stat_clear_snapshot(); SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            connection,
            transaction);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return reader.GetInt64(0);
    }

    /// <summary>Sets the database's connection limit; -1 lifts it. Connections already open stay open.</summary>
    public Task LimitConnectionsAsync(int limit) =>
        ExecuteSqlAsync($"ALTER DATABASE \"{new NpgsqlConnectionStringBuilder(_connectionString).Database}\" CONNECTION LIMIT {limit}");

    public override async ValueTask DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }
    }

    /// <summary>A direct connection, not through the proxy.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        return connection;
    }
}
