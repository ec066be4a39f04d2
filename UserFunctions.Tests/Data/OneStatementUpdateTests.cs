using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.SqlServer.TransactSql.ScriptDom;
using UserFunctions.Core.Data;
using UserFunctions.Core.Data.CompiledModels.SqlServer;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

public sealed class SqliteOneStatementUpdateTests(SqliteListQueryPlanTests.Database database)
    : OneStatementUpdateTests<SqliteListQueryPlanTests.Database>(database);

public sealed class PostgreSqlOneStatementUpdateTests(PostgreSqlListQueryPlanTests.Database database)
    : OneStatementUpdateTests<PostgreSqlListQueryPlanTests.Database>(database);

/// <summary>
/// A PUT or PATCH without If-Match sends the database one statement, <c>UPDATE … WHERE Id = @id RETURNING …</c>, through the
/// app's own registration; the SQL is what EF sent, captured from its diagnostic events.
/// </summary>
public abstract class OneStatementUpdateTests<TDatabase>(TDatabase database) : IClassFixture<TDatabase>
    where TDatabase : PlanDatabase
{
    private static readonly DateTime Created = new(2026, 11, 24, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task APutIsOneUpdateThatReturnsTheStoredCreatedAt()
    {
        var user = await SeedAsync();
        var name = UniqueName();

        var (result, commands) = await RunAsync(services => UsersApi.ReplaceUser(
            Id(user), Request("PUT", user, $$"""{"username":"{{name}}","email":"{{name}}@example.com"}"""), services));

        var ok = Assert.IsType<Ok<UserResponse>>(result.Result);
        Assert.Equal((name, $"{name}@example.com", Created), (ok.Value!.Username, ok.Value.Email, ok.Value.CreatedAt));
        var (set, returning) = UpdateOf(Assert.Single(commands));
        Assert.Equal(["Email", "NormalizedEmail", "NormalizedUsername", "UpdatedAt", "Username", "Version"], set);
        Assert.Equal(["CreatedAt"], returning);
        Assert.Equal((name, ok.Value.Version), await StoredAsync(user.Id));
    }

    [Fact]
    public async Task APatchOfOneMemberIsOneUpdateThatReturnsTheOtherMemberAndCreatedAt()
    {
        var user = await SeedAsync();
        var name = UniqueName();

        var (result, commands) = await RunAsync(services => UsersApi.PatchUser(
            Id(user), Request("PATCH", user, $$"""{"username":"{{name}}"}"""), services));

        var ok = Assert.IsType<Ok<UserResponse>>(result.Result);
        Assert.Equal((name, user.Email, Created), (ok.Value!.Username, ok.Value.Email, ok.Value.CreatedAt));
        var (set, returning) = UpdateOf(Assert.Single(commands));
        Assert.Equal(["NormalizedUsername", "UpdatedAt", "Username", "Version"], set);
        Assert.Equal(["CreatedAt", "Email"], returning);
    }

    [Fact]
    public async Task AnEmptyPatchIsOneUpdateOfUpdatedAtAndTheVersionThatReturnsTheRest()
    {
        var user = await SeedAsync();

        var (result, commands) = await RunAsync(services => UsersApi.PatchUser(Id(user), Request("PATCH", user, "{}"), services));

        var ok = Assert.IsType<Ok<UserResponse>>(result.Result);
        Assert.Equal((user.Username, user.Email, Created), (ok.Value!.Username, ok.Value.Email, ok.Value.CreatedAt));
        Assert.NotEqual(user.Version, ok.Value.Version);
        var (set, returning) = UpdateOf(Assert.Single(commands));
        Assert.Equal(["UpdatedAt", "Version"], set);
        Assert.Equal(["CreatedAt", "Email", "Username"], returning);
    }

    [Fact]
    public async Task APutToAMissingUserIsOneUpdateThatFindsNothingAnd404()
    {
        var user = await SeedAsync();
        await using (var scope = database.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Users.Where(u => u.Id == user.Id).ExecuteDeleteAsync();
        }

        var (result, commands) = await RunAsync(services => UsersApi.ReplaceUser(
            Id(user), Request("PUT", user, """{"username":"nobody_here","email":"nobody@example.com"}"""), services));

        Assert.Equal(StatusCodes.Status404NotFound, Assert.IsType<ProblemHttpResult>(result.Result).StatusCode);
        UpdateOf(Assert.Single(commands));
        await using var check = database.Services.CreateAsyncScope();
        Assert.False(await check.ServiceProvider.GetRequiredService<UsersDbContext>().Users.AnyAsync(u => u.Username == "nobody_here"));
    }

    [Fact]
    public async Task ACreateStillWritesEveryColumn()
    {
        var name = UniqueName();

        var (result, commands) = await RunAsync(services => UsersApi.CreateUser(
            Request("POST", "/api/users", $$"""{"username":"{{name}}","email":"{{name}}@example.com"}"""), services));

        Assert.IsType<Created<UserResponse>>(result.Result);
        var insert = Assert.Single(commands).Sql;
        Assert.StartsWith("INSERT INTO \"Users\" (\"CreatedAt\", \"Email\", \"NormalizedEmail\", \"NormalizedUsername\", \"UpdatedAt\", \"Username\", \"Version\")", insert.Trim(), StringComparison.Ordinal);
    }

    // The columns an UPDATE sets and those it returns, in name order; and that it is one UPDATE by the key, nothing else.
    private static (string[] Set, string[] Returning) UpdateOf((string Sql, IReadOnlyList<(string Name, object? Value)> Parameters) command)
    {
        var update = Regex.Match(
            command.Sql.Trim(), """^UPDATE "Users" SET (?<set>[^;]+?)\s+WHERE "Id" = @\w+\s+RETURNING (?<returning>[^;]+);?$""", RegexOptions.Singleline);
        Assert.True(update.Success, command.Sql);
        return (
            Columns(update.Groups["set"].Value.Split(',').Select(assignment => assignment.Split('=')[0])),
            Columns(update.Groups["returning"].Value.Split(',')));
    }

    private static string[] Columns(IEnumerable<string> quoted) => [.. quoted.Select(c => c.Trim().Trim('"')).Order(StringComparer.Ordinal)];

    private async Task<(T Result, List<(string Sql, IReadOnlyList<(string Name, object? Value)> Parameters)> Commands)> RunAsync<T>(Func<UserServices, Task<T>> handler)
    {
        await using var scope = database.Services.CreateAsyncScope();
        var services = scope.ServiceProvider.GetRequiredService<UserServices>();
        var before = database.Commands.For(services.Db).Count; // pooled: the context may have run other commands before
        var result = await handler(services);
        return (result, database.Commands.For(services.Db).Skip(before).ToList());
    }

    private async Task<User> SeedAsync()
    {
        await using var scope = database.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
        var name = UniqueName();
        var user = User.Create(new UserRequest(name, $"{name}@example.com"), Created);
        db.Users.Add(user);
        await db.SaveChangesAsync();
        return user;
    }

    private async Task<(string Username, Guid Version)> StoredAsync(int id)
    {
        await using var scope = database.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Users.AsNoTracking().SingleAsync(u => u.Id == id);
        return (stored.Username, stored.Version);
    }

    private static string UniqueName() => "u" + Guid.NewGuid().ToString("N")[..12];

    private static string Id(User user) => user.Id.ToString(CultureInfo.InvariantCulture);

    private static HttpRequest Request(string method, User user, string json) => Request(method, $"/api/users/{user.Id}", json);

    private static HttpRequest Request(string method, string path, string json) => HandlerRequests.Json(method, path, json);
}

/// <summary>A request as a host hands it to a handler: a method, a path and a JSON body.</summary>
internal static class HandlerRequests
{
    private static readonly ServiceProvider RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider();

    public static HttpRequest Json(string method, string path, string json)
    {
        var context = new DefaultHttpContext { RequestServices = RequestServices };
        context.Request.Method = method;
        context.Request.Path = path;
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = bytes.Length;
        context.Request.Body = new MemoryStream(bytes);
        return context.Request;
    }
}

/// <summary>
/// SQL Server cannot run here, so its provider talks to no server: the connection's open is suppressed and the UPDATE's
/// reader is answered with the row SQL Server would send. What is checked is the SQL the app's own handler and registration
/// make EF generate, parsed as T-SQL: one <c>UPDATE … OUTPUT INSERTED.… WHERE [Id] = @id</c>.
/// </summary>
public class SqlServerOneStatementUpdateTests
{
    [Fact]
    public async Task APatchOfOneMemberIsOneUpdateWithAnOutputClause()
    {
        var created = new DateTime(2026, 11, 24, 9, 0, 0, DateTimeKind.Utc);
        var server = new NoSqlServer(("CreatedAt", created), ("Email", "john@example.com"));
        var options = new DbContextOptionsBuilder<SqlServerUsersDbContext>();
        DataServiceCollectionExtensions.UseSqlServer(options, new DatabaseOptions { Provider = DatabaseProvider.SqlServer, ConnectionString = "Server=tcp:localhost;Database=Users" });
        await using var db = new SqlServerUsersDbContext(options.UseModel(SqlServerUsersDbContextModel.Instance).AddInterceptors(server).Options);
        var services = new UserServices(
            db, new UserQueries(), new IdempotencyStore(db, TimeProvider.System, NullLogger<IdempotencyStore>.Instance), TimeProvider.System, NullLogger<UsersApi>.Instance);

        var result = await UsersApi.PatchUser("7", HandlerRequests.Json("PATCH", "/api/users/7", """{"username":"jane_doe"}"""), services);

        var ok = Assert.IsType<Ok<UserResponse>>(result.Result);
        Assert.Equal((7, "jane_doe", "john@example.com", created), (ok.Value!.Id, ok.Value.Username, ok.Value.Email, ok.Value.CreatedAt));
        var sql = Assert.Single(server.Commands);
        var script = new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(sql), out var errors);
        Assert.Empty(errors.Select(e => $"line {e.Line}: {e.Message}"));
        var statements = ((TSqlScript)script).Batches.SelectMany(b => b.Statements).ToList();
        Assert.DoesNotContain(statements, s => s is SelectStatement);
        var update = Assert.Single(statements.OfType<UpdateStatement>()).UpdateSpecification;
        Assert.Equal("Users", Assert.IsType<NamedTableReference>(update.Target).SchemaObject.BaseIdentifier.Value);
        Assert.Equal(
            ["NormalizedUsername", "UpdatedAt", "Username", "Version"],
            update.SetClauses.Cast<AssignmentSetClause>().Select(c => c.Column.MultiPartIdentifier.Identifiers[^1].Value).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["INSERTED.CreatedAt", "INSERTED.Email"],
            update.OutputClause.SelectColumns.Cast<SelectScalarExpression>()
                .Select(c => string.Join('.', ((ColumnReferenceExpression)c.Expression).MultiPartIdentifier.Identifiers.Select(i => i.Value)))
                .Order(StringComparer.Ordinal));
        var where = Assert.IsType<BooleanComparisonExpression>(update.WhereClause.SearchCondition);
        Assert.Equal("Id", ((ColumnReferenceExpression)where.FirstExpression).MultiPartIdentifier.Identifiers[^1].Value);
    }

    /// <summary>Opens no connection, and answers every reader with one row of <paramref name="row"/>'s columns, in that order.</summary>
    private sealed class NoSqlServer(params (string Column, object Value)[] row) : DbConnectionInterceptor, IDbCommandInterceptor
    {
        public List<string> Commands { get; } = [];

        public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
            DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(InterceptionResult.Suppress());

        public override ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
            ValueTask.FromResult(InterceptionResult.Suppress());

        ValueTask<InterceptionResult<DbDataReader>> IDbCommandInterceptor.ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken)
        {
            Commands.Add(command.CommandText);
            var table = new DataTable();
            foreach (var (column, value) in row)
            {
                table.Columns.Add(column, value.GetType());
            }

            table.Rows.Add([.. row.Select(c => c.Value)]);
            return ValueTask.FromResult(InterceptionResult<DbDataReader>.SuppressWithResult(table.CreateDataReader()));
        }
    }
}
