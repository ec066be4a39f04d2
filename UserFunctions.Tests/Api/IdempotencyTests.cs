using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Api;

public abstract class IdempotencyTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : IdempotencyTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : IdempotencyTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : IdempotencyTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : IdempotencyTests(host), IClassFixture<FunctionsOnPostgreSql>;

    private const string JohnJson = """{"username":"john_doe","email":"john@example.com"}""";

    // Keys are never reused across tests, so the keys table needs no emptying between them.
    private readonly string _key = $"\"{Guid.NewGuid()}\"";

    [Fact]
    public async Task RepeatingAPostWithTheSameKeyReplaysTheFirstResponseAndCreatesOneUser()
    {
        using var first = await Client.PostUserAsync(JohnJson, _key);
        using var repeat = await Client.PostUserAsync(JohnJson, _key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, repeat.StatusCode);
        Assert.Equal(first.Headers.Location, repeat.Headers.Location);
        Assert.Equal(ETagOf(first), ETagOf(repeat));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await repeat.Content.ReadAsStringAsync());
        Assert.Equal("application/json", repeat.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task ABareTokenKeyWorksLikeAQuotedOne()
    {
        var bare = Guid.NewGuid().ToString();

        using var first = await Client.PostUserAsync(JohnJson, bare);
        using var repeat = await Client.PostUserAsync(JohnJson, $"\"{bare}\"");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, repeat.StatusCode);
        Assert.Equal(first.Headers.Location, repeat.Headers.Location);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task TheSameKeyWithADifferentBodyIs422AndWritesNothing()
    {
        using var first = await Client.PostUserAsync(JohnJson, _key);

        using var different = await Client.PostUserAsync("""{"username":"jane_doe","email":"jane@example.com"}""", _key);

        await AssertProblemAsync(different, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(1, await Server.CountUsersAsync());
        using var list = await Client.GetAsync("/api/users?username=jane_doe");
        Assert.Equal(0, (await ReadJsonAsync(list)).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task TheSameKeyOnAnotherOperationIs422()
    {
        using var created = await Client.PostUserAsync(JohnJson, _key);

        using var patch = await Client.PatchUserAsync(created.Headers.Location!.OriginalString, """{"username":"jane_doe"}""", _key);

        await AssertProblemAsync(patch, HttpStatusCode.UnprocessableEntity);
        using var reread = await Client.GetAsync(created.Headers.Location);
        Assert.Equal(ETagOf(created), ETagOf(reread));
    }

    // An empty header is covered by IdempotencyKeyTests: the dev server's test transport drops it.
    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"unterminated")]
    [InlineData("\"trailing\"x")]
    [InlineData("has space")]
    [InlineData("\"bad\\escape\"")]
    [InlineData("too-long")]
    public async Task AMalformedKeyIs400AndWritesNothing(string key)
    {
        if (key == "too-long")
        {
            key = new string('k', 256);
        }

        using var response = await Client.PostUserAsync(JohnJson, key);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Idempotency-Key", problem.GetProperty("header").GetString());
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task TwoKeysAre400()
    {
        using var response = await Client.PostUserAsync(JohnJson, configure: r =>
        {
            r.Headers.TryAddWithoutValidation("Idempotency-Key", "\"one\"");
            r.Headers.TryAddWithoutValidation("Idempotency-Key", "\"two\"");
        });

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task ALongestKeyIsAccepted()
    {
        using var response = await Client.PostUserAsync(JohnJson, new string('k', 255));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task RepeatingAPatchReplaysTheFirstResponseAndChangesTheUserOnce()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;

        using var first = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key);
        using var repeat = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.NotEqual(ETagOf(created), ETagOf(first));
        Assert.Equal(ETagOf(first), ETagOf(repeat));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await repeat.Content.ReadAsStringAsync());
        using var reread = await Client.GetAsync(url);
        Assert.Equal(ETagOf(first), ETagOf(reread));
    }

    [Fact]
    public async Task APatchRepeatedAfterAnotherChangeStillReplaysItsOwnResponse()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;
        using var first = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key);
        using var other = await Client.PutAsync(url, ApiHost.Json("""{"username":"jim_doe","email":"jim@example.com"}"""));

        using var repeat = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key);

        Assert.Equal(ETagOf(first), ETagOf(repeat));
        using var reread = await Client.GetAsync(url);
        Assert.Equal(ETagOf(other), ETagOf(reread));
    }

    [Fact]
    public async Task ARepeatWhileTheFirstRequestIsStillRunningIs409()
    {
        using var first = await Client.PostUserAsync(JohnJson, _key);
        // The first request's claim, as it is while that request runs: claimed just now, no response yet.
        await Server.ExecuteSqlAsync("UPDATE \"IdempotencyKeys\" SET \"StatusCode\" = NULL, \"ResponseBody\" = NULL");

        using var repeat = await Client.PostUserAsync(JohnJson, _key);

        await AssertProblemAsync(repeat, HttpStatusCode.Conflict);
        Assert.NotNull(repeat.Headers.RetryAfter);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task ParallelRequestsWithOneKeyCreateOneUserAndEachAnswerIsItsResponseOrAConflict()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Client.PostUserAsync(JohnJson, _key)));
        try
        {
            var created = responses.Where(r => r.StatusCode == HttpStatusCode.Created).ToList();
            Assert.NotEmpty(created);
            Assert.Single(created.Select(r => r.Headers.Location).Distinct());
            foreach (var other in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
            {
                var problem = await AssertProblemAsync(other, HttpStatusCode.Conflict);
                Assert.False(problem.TryGetProperty("errors", out _), "A repeat must not be told the username is taken.");
            }

            Assert.Equal(1, await Server.CountUsersAsync());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task AnAbandonedClaimIsTakenOverOnceItsLeaseHasEnded()
    {
        using var first = await Client.PostUserAsync(JohnJson, _key);
        // The first request died after its claim and before its write.
        await Server.Database.EmptyAsync();
        await Server.ExecuteSqlAsync(
            $"UPDATE \"IdempotencyKeys\" SET \"StatusCode\" = NULL, \"ResponseBody\" = NULL, \"ClaimedAt\" = {Timestamp(DateTime.UtcNow.AddMinutes(-2))}");

        using var repeat = await Client.PostUserAsync(JohnJson, _key);

        Assert.Equal(HttpStatusCode.Created, repeat.StatusCode);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AKeyOlderThan24HoursIsForgotten()
    {
        using var first = await Client.PostUserAsync(JohnJson, _key);
        await Server.ExecuteSqlAsync($"UPDATE \"IdempotencyKeys\" SET \"ClaimedAt\" = {Timestamp(DateTime.UtcNow.AddHours(-25))}");

        using var reused = await Client.PostUserAsync("""{"username":"jane_doe","email":"jane@example.com"}""", _key);

        Assert.Equal(HttpStatusCode.Created, reused.StatusCode);
        Assert.Equal(2, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AFirstRequestThatFailsValidationDoesNotUseUpTheKey()
    {
        using var invalid = await Client.PostUserAsync("""{"username":"x","email":"john@example.com"}""", _key);
        await AssertProblemAsync(invalid, HttpStatusCode.BadRequest);

        using var valid = await Client.PostUserAsync(JohnJson, _key);

        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
    }

    [Fact]
    public async Task AFirstRequestThatConflictsDoesNotUseUpTheKey()
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");
        using var conflict = await Client.PostUserAsync("""{"username":"John_Doe","email":"other@example.com"}""", _key);
        await AssertProblemAsync(conflict, HttpStatusCode.Conflict);

        using var retried = await Client.PostUserAsync("""{"username":"jane_doe","email":"jane@example.com"}""", _key);

        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(2, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task APatchThatFailsItsPreconditionDoesNotUseUpTheKey()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;
        using var stale = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key, ifMatch: "\"00000000000000000000000000000000\"");
        await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed);

        using var current = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", _key, ifMatch: ETagOf(created));

        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
    }

    // A timestamp literal as each provider stores it: SQLite compares EF's text form, PostgreSQL takes an explicit UTC offset.
    private string Timestamp(DateTime utc) => Server.Database is PostgreSqlTestDatabase
        ? $"'{utc.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'"
        : $"'{utc.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture)}'";
}
