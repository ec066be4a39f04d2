using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using UserFunctions.Core;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

public sealed class SqliteListQueryPlanTests(SqliteListQueryPlanTests.Database database)
    : ListQueryPlanTests<SqliteListQueryPlanTests.Database>(database)
{
    // "u" is EF's alias for Users; a SCAN instead of a SEARCH would read the whole table.
    protected override void AssertIndexSearch(string plan, string index) =>
        Assert.StartsWith(index == PrimaryKey ? "SEARCH u USING INTEGER PRIMARY KEY" : $"SEARCH u USING INDEX {index}", plan, StringComparison.Ordinal);

    public sealed class Database : PlanDatabase
    {
        private readonly string _connectionString = $"Data Source=file:plan-{Guid.NewGuid():N}?mode=memory&cache=shared";
        private SqliteConnection? _keepAlive;

        protected override async Task<Dictionary<string, string?>> CreateAsync()
        {
            _keepAlive = new SqliteConnection(_connectionString);
            await _keepAlive.OpenAsync();
            return new() { ["ConnectionStrings:Users"] = _connectionString };
        }

        public override async Task<string> ExplainAsync(string sql, IReadOnlyList<(string Name, object? Value)> parameters)
        {
            await using var explain = _keepAlive!.CreateCommand();
            explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
            foreach (var (name, value) in parameters)
            {
                explain.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            await using var reader = await explain.ExecuteReaderAsync();
            var steps = new List<string>();
            while (await reader.ReadAsync())
            {
                steps.Add(reader.GetString(3));
            }

            return string.Join(" | ", steps);
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            _keepAlive?.Dispose();
        }
    }
}

public sealed class PostgreSqlListQueryPlanTests(PostgreSqlListQueryPlanTests.Database database)
    : ListQueryPlanTests<PostgreSqlListQueryPlanTests.Database>(database)
{
    // With sequential scans priced out, PostgreSQL still plans one when no index serves the query.
    protected override void AssertIndexSearch(string plan, string index)
    {
        Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
        Assert.Contains(index == PrimaryKey ? "\"PK_Users\"" : $"\"{index}\"", plan, StringComparison.Ordinal);
    }

    public sealed class Database : PlanDatabase
    {
        private string _connectionString = "";

        protected override async Task<Dictionary<string, string?>> CreateAsync()
        {
            _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("plans");
            return new() { ["Database:Provider"] = "PostgreSql", ["ConnectionStrings:Users"] = _connectionString };
        }

        public override async Task<string> ExplainAsync(string sql, IReadOnlyList<(string Name, object? Value)> parameters)
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
            // An empty table is cheapest to read whole; the question is whether an index can serve the query.
            await using (var off = new NpgsqlCommand("SET enable_seqscan = off", connection))
            {
                await off.ExecuteNonQueryAsync();
            }

            await using var explain = new NpgsqlCommand("EXPLAIN " + sql, connection);
            foreach (var (name, value) in parameters)
            {
                explain.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            await using var reader = await explain.ExecuteReaderAsync();
            var steps = new List<string>();
            while (await reader.ReadAsync())
            {
                steps.Add(reader.GetString(0).Trim());
            }

            return string.Join(" | ", steps);
        }
    }
}

/// <summary>Every variant of the list query (EF specialises the compiled query per filter combination) is an index search.</summary>
public abstract class ListQueryPlanTests<TDatabase>(TDatabase database) : IClassFixture<TDatabase>
    where TDatabase : PlanDatabase
{
    protected const string PrimaryKey = "primary key";

    [Theory]
    [InlineData("?username=John_Doe", "IX_Users_NormalizedUsername")]
    [InlineData("?email=John%40Example.com", "IX_Users_NormalizedEmail")]
    [InlineData("?limit=20", PrimaryKey)]
    [InlineData("?cursor", PrimaryKey)]
    public async Task TheListQueryIsServedByAnIndex(string query, string index)
    {
        await using var scope = database.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
        var before = database.Commands.For(db).Count; // pooled: the context may have run other commands before

        await ListAsync(scope.ServiceProvider, query);

        var command = Assert.Single(database.Commands.For(db).Skip(before));
        Assert.DoesNotContain("IS NULL", command.Sql, StringComparison.OrdinalIgnoreCase);
        AssertIndexSearch(await database.ExplainAsync(command.Sql, command.Parameters), index);
    }

    protected abstract void AssertIndexSearch(string plan, string index);

    private static async Task ListAsync(IServiceProvider services, string query)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/api/users";
        context.Request.QueryString = new QueryString(query == "?cursor" ? "?cursor=" + PageCursor.Encode(5) : query);

        Assert.IsType<Ok<UserPage>>((await UsersApi.ListUsers(context.Request, services.GetRequiredService<UserServices>())).Result);
    }
}

/// <summary>A migrated database behind the app's own registration, with the SQL it runs captured.</summary>
public abstract class PlanDatabase : IAsyncLifetime, IDisposable
{
    public ServiceProvider Services { get; private set; } = null!;

    public CommandCapture Commands { get; } = new();

    public async Task InitializeAsync()
    {
        // The application's own registration: compiled queries run against one model, the one the app builds,
        // so the SQL is captured from EF's diagnostic events, which leave the options untouched.
        Services = new ServiceCollection()
            .AddLogging()
            .AddUsersApi(new ConfigurationBuilder().AddInMemoryCollection(await CreateAsync()).Build())
            .BuildServiceProvider();
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.MigrateAsync();
        // EF caches "is anyone listening" for a second (LoggingCacheTime); let that pass with the capture subscribed.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
    }

    /// <summary>Creates the empty database and returns the settings that point the app at it.</summary>
    protected abstract Task<Dictionary<string, string?>> CreateAsync();

    public abstract Task<string> ExplainAsync(string sql, IReadOnlyList<(string Name, object? Value)> parameters);

    public virtual async Task DisposeAsync() => await Services.DisposeAsync();

    public void Dispose()
    {
        Commands.Dispose();
        GC.SuppressFinalize(this);
    }
}
