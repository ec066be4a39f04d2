using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

/// <summary>A migrated database shared by one test class (a class fixture); the class empties it before each test.</summary>
public interface ITestDatabase : IAsyncLifetime
{
    UsersDbContext CreateContext();

    Task EmptyAsync();
}

/// <summary>A migrated in-memory SQLite database that lives as long as its kept-open connection.</summary>
public sealed class SqliteTestDatabase : ITestDatabase, IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public async Task InitializeAsync()
    {
        await _connection.OpenAsync();
        await using var db = CreateContext();
        await db.Database.MigrateAsync();
    }

    public UsersDbContext CreateContext() =>
        new SqliteUsersDbContext(new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite(_connection).Options);

    public async Task EmptyAsync()
    {
        await using var db = CreateContext();
        await db.Users.ExecuteDeleteAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _connection.Dispose();
}

/// <summary>A migrated database of its own on the test run's PostgreSQL cluster, used with the app's Npgsql options.</summary>
public sealed class PostgreSqlTestDatabase : ITestDatabase
{
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        ConnectionString = await server.CreateDatabaseAsync("users");
        await using var db = CreateContext();
        await db.Database.MigrateAsync();
    }

    public UsersDbContext CreateContext()
    {
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
        DataServiceCollectionExtensions.UsePostgreSql(options, new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionString = ConnectionString });
        return new PostgreSqlUsersDbContext(options.Options);
    }

    public async Task EmptyAsync()
    {
        await using var db = CreateContext();
        await db.Database.ExecuteSqlRawAsync("""TRUNCATE "Users" RESTART IDENTITY""");
    }

    // The cluster goes at the end of the run; only give back this class's connections.
    public Task DisposeAsync()
    {
        using var connection = new NpgsqlConnection(ConnectionString);
        NpgsqlConnection.ClearPool(connection);
        return Task.CompletedTask;
    }
}
