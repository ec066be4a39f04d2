using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using UserFunctions.Core.Data;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Data;

/// <summary>
/// A database of its own for one test class, on SQLite or on the test run's PostgreSQL cluster. Data tests use it as a class
/// fixture (created and migrated, then <see cref="CreateContext"/>); an API host (<see cref="ApiHost"/>) creates it empty
/// and points the app at it with <see cref="CreateAsync"/>'s settings, so the app migrates it at start-up as it would for a
/// developer. Either way the tests reach it directly to count rows and to break things for real.
/// </summary>
public abstract class TestDatabase : IAsyncLifetime, IAsyncDisposable
{
    /// <summary>Creates the empty database; returns the settings that point a host at it, in configuration-key form (<c>Database:Provider</c>).</summary>
    public abstract Task<IReadOnlyDictionary<string, string?>> CreateAsync();

    /// <summary>A context of the test's own, straight on the database, with the app's provider options.</summary>
    public abstract UsersDbContext CreateContext();

    public abstract Task<long> CountUsersAsync();

    public abstract Task ExecuteSqlAsync(string sql);

    /// <summary>Empties the table between tests that share the database.</summary>
    public Task EmptyAsync() => ExecuteSqlAsync("""DELETE FROM "Users" """);

    /// <summary>Makes the database unreachable for the host until the returned value is disposed.</summary>
    public abstract Task<IAsyncDisposable> TakeOfflineAsync();

    public abstract ValueTask DisposeAsync();

    /// <summary>As a class fixture: created and migrated before the first test.</summary>
    async Task IAsyncLifetime.InitializeAsync()
    {
        await CreateAsync();
        await using var db = CreateContext();
        await db.Database.MigrateAsync();
    }

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();
}

/// <summary>
/// A SQLite file of its own. It starts empty; it is opened with <c>Mode=ReadWrite</c>, so once the file is moved away
/// (<see cref="TakeOfflineAsync"/>) the host fails instead of creating a new one.
/// </summary>
public sealed class SqliteTestDatabase : TestDatabase
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"userfunctions-tests-{Guid.NewGuid():N}.db");
    private readonly bool _pooling = true;

    /// <summary>As a class fixture (xunit wants exactly one public constructor).</summary>
    public SqliteTestDatabase()
    {
    }

    /// <param name="pooling">False for a host in another process: the test cannot clear that process's pool before it moves the file.</param>
    internal SqliteTestDatabase(bool pooling) => _pooling = pooling;

    private string HostConnectionString => $"Data Source={_path};Mode=ReadWrite" + (_pooling ? "" : ";Pooling=False");

    public override async Task<IReadOnlyDictionary<string, string?>> CreateAsync()
    {
        await File.WriteAllBytesAsync(_path, []);
        return new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Users"] = HostConnectionString,
        };
    }

    public override UsersDbContext CreateContext()
    {
        var options = new DbContextOptionsBuilder<SqliteUsersDbContext>();
        DataServiceCollectionExtensions.UseSqlite(options, new DatabaseOptions { ConnectionString = $"Data Source={_path};Mode=ReadWrite" });
        return new SqliteUsersDbContext(options.Options);
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
        ClearPools();
        var hidden = _path + ".hidden";
        File.Move(_path, hidden);
        return Task.FromResult<IAsyncDisposable>(new Restore(() => File.Move(hidden, _path)));
    }

    public override ValueTask DisposeAsync()
    {
        ClearPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm", _path + ".hidden" })
        {
            File.Delete(file);
        }

        return ValueTask.CompletedTask;
    }

    // Only this database's pools (the host's and the test's contexts'): other test classes run in this process at the same time.
    private void ClearPools()
    {
        foreach (var connectionString in new[] { HostConnectionString, $"Data Source={_path};Mode=ReadWrite" })
        {
            using var connection = new SqliteConnection(connectionString);
            SqliteConnection.ClearPool(connection);
        }
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
/// A database of its own on the test run's PostgreSQL cluster. A host reaches it through a <see cref="FaultProxy"/>, so
/// taking the database offline cuts the host's connections for real; the test itself connects directly
/// (<see cref="ConnectionString"/>). A host migrates it at start-up (<c>Database:MigrateOnStartup=true</c>).
/// </summary>
public sealed class PostgreSqlTestDatabase : TestDatabase
{
    private readonly IReadOnlyDictionary<string, string?>? _settings;
    private readonly bool _appRole;
    private FaultProxy? _proxy;

    /// <summary>As a class fixture (xunit wants exactly one public constructor).</summary>
    public PostgreSqlTestDatabase()
    {
    }

    /// <param name="settings">
    /// Host settings over the defaults below, for example a retry budget; a <c>ConnectionStrings:Users</c> entry here holds
    /// keywords added to the host's connection string (such as <c>Timeout=2;Maximum Pool Size=2</c>).
    /// </param>
    /// <param name="appRole">
    /// The host signs in as a login role of its own that owns the database and is not a superuser, so that the database's
    /// <c>CONNECTION LIMIT</c> (<see cref="LimitConnectionsAsync"/>) refuses it; superusers are exempt. The test's own
    /// connections are then unpooled, since every open connection counts against the limit.
    /// </param>
    internal PostgreSqlTestDatabase(IReadOnlyDictionary<string, string?>? settings = null, bool appRole = false) =>
        (_settings, _appRole) = (settings, appRole);

    /// <summary>The direct connection string (the cluster's superuser), not through the proxy.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The proxy between the host and the server, to break the host's connections with.</summary>
    public FaultProxy Proxy => _proxy ?? throw new InvalidOperationException("The database is not created yet.");

    public override async Task<IReadOnlyDictionary<string, string?>> CreateAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(await (await PostgresServer.GetAsync()).CreateDatabaseAsync("users")) { Pooling = !_appRole };
        ConnectionString = admin.ConnectionString;
        _proxy = new FaultProxy(new IPEndPoint(IPAddress.Parse(admin.Host!), admin.Port));
        var throughProxy = new NpgsqlConnectionStringBuilder(ConnectionString) { Port = _proxy.Port, Timeout = 5, Pooling = true };
        if (_appRole)
        {
            var role = $"{admin.Database}_app";
            var password = Guid.NewGuid().ToString("N");
            await ExecuteSqlAsync($"""CREATE ROLE "{role}" LOGIN PASSWORD '{password}'""");
            await ExecuteSqlAsync($"""ALTER DATABASE "{admin.Database}" OWNER TO "{role}" """);
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
        foreach (var (key, value) in _settings ?? new Dictionary<string, string?>())
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

    public override UsersDbContext CreateContext()
    {
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
        DataServiceCollectionExtensions.UsePostgreSql(options, new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionString = ConnectionString });
        return new PostgreSqlUsersDbContext(options.Options);
    }

    public override async Task<long> CountUsersAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("""SELECT COUNT(*) FROM "Users" """, connection);
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
        ExecuteSqlAsync($"""ALTER DATABASE "{new NpgsqlConnectionStringBuilder(ConnectionString).Database}" CONNECTION LIMIT {limit}""");

    /// <summary>A direct connection, not through the proxy.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    // The cluster goes at the end of the run; only give back this database's connections.
    public override async ValueTask DisposeAsync()
    {
        if (ConnectionString.Length > 0)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            NpgsqlConnection.ClearPool(connection);
        }

        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
            _proxy = null;
        }
    }
}
