using System.Data.Common;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

/// <summary>
/// A write whose commit succeeded but whose acknowledgement was lost, retried by the app's retrying execution strategy on
/// PostgreSQL: the answer must say the write happened (it did), not 409, 412 or 404.
/// </summary>
public sealed class TruthfulWriteTests(PostgreSqlTestDatabase database) : IClassFixture<PostgreSqlTestDatabase>, IAsyncLifetime
{
    private static readonly ServiceProvider RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider();

    public Task InitializeAsync() => database.EmptyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task ACreateWhoseAcknowledgementWasLostIs201WithTheUserItCreated()
    {
        var lost = new LoseFirstAcknowledgement("INSERT INTO \"Users\"");
        await using var db = CreateContext(lost);

        var result = await UsersApi.CreateUser(Request("POST", "/api/users", """{"username":"john_doe","email":"john@example.com"}"""), ServicesFor(db));

        Assert.Equal(1, lost.Lost);
        var created = Assert.IsType<Created<UserResponse>>(result.Result);
        var stored = await SingleUserAsync();
        Assert.Equal(stored.Id, created.Value!.Id);
        Assert.Equal($"/api/users/{stored.Id}", created.Location);
    }

    [Fact]
    public async Task AnUpdateWhoseAcknowledgementWasLostIs200WithTheVersionItWrote()
    {
        var user = await SeedAsync();
        var lost = new LoseFirstAcknowledgement("UPDATE \"Users\"");
        await using var db = CreateContext(lost);
        var request = Request("PUT", $"/api/users/{user.Id}", """{"username":"jane_doe","email":"jane@example.com"}""", ("If-Match", $"\"{user.Version:N}\""));

        var result = await UsersApi.ReplaceUser(user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), request, ServicesFor(db));

        Assert.Equal(1, lost.Lost);
        var ok = Assert.IsType<Ok<UserResponse>>(result.Result);
        Assert.Equal("jane_doe", ok.Value!.Username);
        var stored = await SingleUserAsync();
        Assert.Equal($"\"{stored.Version:N}\"", request.HttpContext.Response.Headers.ETag.ToString());
    }

    [Fact]
    public async Task ADeleteWhoseAcknowledgementWasLostIs204()
    {
        var user = await SeedAsync();
        var lost = new LoseFirstAcknowledgement("DELETE FROM \"Users\"");
        await using var db = CreateContext(lost);

        var result = await UsersApi.DeleteUser(user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Request("DELETE", $"/api/users/{user.Id}"), ServicesFor(db));

        Assert.Equal(1, lost.Lost);
        Assert.IsType<NoContent>(result.Result);
        await using var check = database.CreateContext();
        Assert.Equal(0, await check.Users.CountAsync());
    }

    [Fact]
    public async Task AKeyedCreateWhoseCommitAcknowledgementWasLostIs201AndItsResponseIsKept()
    {
        const string Body = """{"username":"john_doe","email":"john@example.com"}""";
        var key = ("Idempotency-Key", $"\"{Guid.NewGuid()}\"");
        var lost = new LoseFirstCommitAcknowledgement();
        await using var db = CreateContext(lost);

        var result = await UsersApi.CreateUser(Request("POST", "/api/users", Body, key), ServicesFor(db));

        Assert.Equal(1, lost.Lost);
        var created = Assert.IsType<Created<UserResponse>>(result.Result);
        await using var again = CreateContext();
        var repeat = Assert.IsType<Created<UserResponse>>((await UsersApi.CreateUser(Request("POST", "/api/users", Body, key), ServicesFor(again))).Result);
        Assert.Equal(created.Location, repeat.Location);
        // The same body as the client reads it (the version travels in the ETag, not the body).
        Assert.Equal(
            JsonSerializer.Serialize(created.Value, ApiJsonContext.Default.UserResponse),
            JsonSerializer.Serialize(repeat.Value, ApiJsonContext.Default.UserResponse));
        Assert.Equal((await SingleUserAsync()).Id, created.Value!.Id);
    }

    [Fact]
    public async Task AKeyClaimWhoseAcknowledgementWasLostIsStillThisRequestsClaim()
    {
        var lost = new LoseFirstAcknowledgement("INSERT INTO \"IdempotencyKeys\"");
        await using var db = CreateContext(lost);
        var request = Request("POST", "/api/users", """{"username":"john_doe","email":"john@example.com"}""", ("Idempotency-Key", $"\"{Guid.NewGuid()}\""));

        var result = await UsersApi.CreateUser(request, ServicesFor(db));

        Assert.Equal(1, lost.Lost);
        Assert.IsType<Created<UserResponse>>(result.Result);
    }

    [Fact]
    public async Task AKeyedCreateWhoseTransactionCannotBeginIsRetriedNotA500()
    {
        // The attempt fails before it has made its user: the check of whether it committed must say "no", not throw.
        var failing = new FailFirstTransactionStart();
        await using var db = CreateContext(failing);
        var request = Request("POST", "/api/users", """{"username":"john_doe","email":"john@example.com"}""", ("Idempotency-Key", $"\"{Guid.NewGuid()}\""));

        var result = await UsersApi.CreateUser(request, ServicesFor(db));

        Assert.Equal(1, failing.Failed);
        var created = Assert.IsType<Created<UserResponse>>(result.Result);
        Assert.Equal((await SingleUserAsync()).Id, created.Value!.Id);
    }

    private static UserServices ServicesFor(UsersDbContext db) => new(
        db, new UserQueries(), new IdempotencyStore(db, TimeProvider.System, NullLogger<IdempotencyStore>.Instance), TimeProvider.System, NullLogger<UsersApi>.Instance);

    private PostgreSqlUsersDbContext CreateContext(params IInterceptor[] interceptors)
    {
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
        DataServiceCollectionExtensions.UsePostgreSql(options, new DatabaseOptions
        {
            Provider = DatabaseProvider.PostgreSql,
            ConnectionString = database.ConnectionString,
            MaxRetryCount = 2,
            MaxRetryDelaySeconds = 1,
        });
        return new PostgreSqlUsersDbContext(options.AddInterceptors(interceptors).Options);
    }

    private async Task<User> SeedAsync()
    {
        await using var db = database.CreateContext();
        var user = User.Create(new UserRequest("john_doe", "john@example.com"), DateTime.UtcNow);
        db.Users.Add(user);
        await db.SaveChangesAsync();
        return user;
    }

    private async Task<User> SingleUserAsync()
    {
        await using var db = database.CreateContext();
        return await db.Users.AsNoTracking().SingleAsync();
    }

    private static HttpRequest Request(string method, string path, string? json = null, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext { RequestServices = RequestServices };
        context.Request.Method = method;
        context.Request.Path = path;
        if (json is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
            context.Request.Body = new MemoryStream(bytes);
        }

        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        return context.Request;
    }

    // What a connection broken right after the server committed looks like to the client.
    private static NpgsqlException BrokenConnection() => new("Exception while reading from stream", new IOException("Connection reset by peer."));

    /// <summary>Once, after a statement that committed on its own (no transaction) ran, throws as if its answer never arrived.</summary>
    private sealed class LoseFirstAcknowledgement(string sqlPrefix) : DbCommandInterceptor
    {
        public int Lost { get; private set; }

        public override async ValueTask<DbDataReader> ReaderExecutedAsync(
            DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        {
            if (ShouldLose(command))
            {
                await result.DisposeAsync();
                throw BrokenConnection();
            }

            return result;
        }

        public override ValueTask<int> NonQueryExecutedAsync(
            DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default) =>
            ShouldLose(command) ? throw BrokenConnection() : ValueTask.FromResult(result);

        private bool ShouldLose(DbCommand command)
        {
            if (Lost > 0 || command.Transaction is not null || !command.CommandText.TrimStart().StartsWith(sqlPrefix, StringComparison.Ordinal))
            {
                return false;
            }

            Lost++;
            return true;
        }
    }

    /// <summary>Once, after a transaction committed, throws as if the commit's answer never arrived.</summary>
    private sealed class LoseFirstCommitAcknowledgement : DbTransactionInterceptor
    {
        public int Lost { get; private set; }

        public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            if (Lost > 0)
            {
                return Task.CompletedTask;
            }

            Lost++;
            throw BrokenConnection();
        }
    }

    /// <summary>Once, as a transaction begins, throws as if its connection could not be opened.</summary>
    private sealed class FailFirstTransactionStart : DbTransactionInterceptor
    {
        public int Failed { get; private set; }

        public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
            DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            if (Failed > 0)
            {
                return ValueTask.FromResult(result);
            }

            Failed++;
            throw BrokenConnection();
        }
    }
}
