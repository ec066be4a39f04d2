using System.Data.Common;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

public sealed class ListQueryPlanTests(ListQueryPlanTests.Database database) : IClassFixture<ListQueryPlanTests.Database>
{
    [Theory]
    [InlineData("?username=John_Doe", "USING INDEX IX_Users_NormalizedUsername")]
    [InlineData("?email=John%40Example.com", "USING INDEX IX_Users_NormalizedEmail")]
    [InlineData("?limit=20", "USING INTEGER PRIMARY KEY")]
    [InlineData("?cursor", "USING INTEGER PRIMARY KEY")]
    public async Task TheListQueryIsServedByAnIndex(string query, string expectedAccess)
    {
        await using var scope = database.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Path = "/api/users";
        context.Request.QueryString = new QueryString(query == "?cursor" ? "?cursor=" + PageCursor.Encode(5) : query);

        var before = database.Commands.For(db).Count; // pooled: the context may have run other commands before

        var result = await UsersApi.ListUsers(context.Request, db);

        Assert.IsType<Ok<UserPage>>(result);
        var command = Assert.Single(database.Commands.For(db).Skip(before));
        Assert.DoesNotContain("IS NULL", command.Sql, StringComparison.OrdinalIgnoreCase);
        var plan = await database.ExplainAsync(command.Sql, command.Parameters);
        // "u" is EF's alias for Users; a SCAN instead of a SEARCH would read the whole table.
        Assert.StartsWith("SEARCH u " + expectedAccess, plan, StringComparison.Ordinal);
    }

    public sealed class Database : IAsyncLifetime, IDisposable
    {
        private readonly string _connectionString = $"Data Source=file:plan-{Guid.NewGuid():N}?mode=memory&cache=shared";
        private readonly SqliteConnection _keepAlive;

        public Database() => _keepAlive = new SqliteConnection(_connectionString);

        public ServiceProvider Services { get; private set; } = null!;

        public CommandCapture Commands { get; } = new();

        public async Task InitializeAsync()
        {
            await _keepAlive.OpenAsync();
            // The application's own registration: compiled queries run against one model, the one the app builds,
            // so the SQL is captured from EF's diagnostic events, which leave the options untouched.
            Services = new ServiceCollection()
                .AddLogging()
                .AddUsersData(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Users"] = _connectionString }).Build())
                .BuildServiceProvider();
            await using var scope = Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.MigrateAsync();
            // EF caches "is anyone listening" for a second (LoggingCacheTime); let that pass with the capture subscribed.
            await Task.Delay(TimeSpan.FromSeconds(1.2));
        }

        public async Task DisposeAsync() => await Services.DisposeAsync();

        public void Dispose()
        {
            Commands.Dispose();
            _keepAlive.Dispose();
        }

        public async Task<string> ExplainAsync(string sql, IReadOnlyList<(string Name, object? Value)> parameters)
        {
            await using var explain = _keepAlive.CreateCommand();
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

    }

    /// <summary>Records the commands EF executes, per context, from its diagnostic events.</summary>
    public sealed class CommandCapture : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
    {
        private readonly List<IDisposable> _subscriptions = [];
        private readonly List<(DbContext Context, string Sql, IReadOnlyList<(string Name, object? Value)> Parameters)> _captured = [];

        public CommandCapture()
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
            }
        }

        public List<(string Sql, IReadOnlyList<(string Name, object? Value)> Parameters)> For(DbContext context)
        {
            lock (_captured)
            {
                return _captured.Where(c => c.Context == context).Select(c => (c.Sql, c.Parameters)).ToList();
            }
        }

        public void OnNext(DiagnosticListener value)
        {
            if (value.Name == DbLoggerCategory.Name)
            {
                lock (_subscriptions)
                {
                    _subscriptions.Add(value.Subscribe(this));
                }
            }
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key == RelationalEventId.CommandExecuting.Name && value.Value is CommandEventData { Context: { } context } data)
            {
                lock (_captured)
                {
                    _captured.Add((context, data.Command.CommandText, data.Command.Parameters.Cast<DbParameter>().Select(p => (p.ParameterName, (object?)p.Value)).ToList()));
                }
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void Dispose()
        {
            lock (_subscriptions)
            {
                _subscriptions.ForEach(s => s.Dispose());
            }
        }
    }
}
