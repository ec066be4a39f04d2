using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Api;

/// <summary>
/// Writes whose acknowledgement the network loses: the proxy lets PostgreSQL run the statement (or the commit) and then resets
/// the connection before the answer reaches the host. The host's retrying strategy meets a broken connection, and the answer
/// must still say what committed, with exactly the rows that committed.
/// </summary>
public abstract class LostReplyTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : LostReplyTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : LostReplyTests(host), IClassFixture<FunctionsOnPostgreSql>;

    private const string JohnJson = """{"username":"john_doe","email":"john@example.com"}""";

    private FaultProxy Proxy => ((PostgreSqlTestDatabase)Server.Database).Proxy;

    [Fact]
    public async Task ACreateWhoseInsertReplyIsLostIs201WithTheOneUserItStored()
    {
        var lost = Proxy.LoseNextReplyTo("INSERT INTO \"Users\"");

        using var response = await Client.PostUserAsync(JohnJson);

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await ReadJsonAsync(response);
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal(created.GetProperty("id").GetInt64(), stored.Id);
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task AReplaceWhoseUpdateReplyIsLostIs200WithTheVersionItWrote()
    {
        var (url, etag) = await CreateJohnAsync();
        var lost = Proxy.LoseNextReplyTo("UPDATE \"Users\"");

        using var response = await SendAsync(HttpMethod.Put, url, ApiHost.Json("""{"username":"jane_doe","email":"jane@example.com"}"""), r => r.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag)));

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal("jane_doe", stored.Username);
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task APatchWhoseUpdateReplyIsLostIs200WithTheVersionItWrote()
    {
        var (url, etag) = await CreateJohnAsync();
        var lost = Proxy.LoseNextReplyTo("UPDATE \"Users\"");

        using var response = await Client.PatchUserAsync(url, """{"email":"johnny@example.com"}""", ifMatch: etag);

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("johnny@example.com", (await ReadJsonAsync(response)).GetProperty("email").GetString());
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal("johnny@example.com", stored.Email);
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task AReplaceWithoutIfMatchWhoseUpdateReplyIsLostIs200WithTheWholeUserItWrote()
    {
        using var created = await Client.PostUserAsync(JohnJson);
        var john = await ReadJsonAsync(created);
        var lost = Proxy.LoseNextReplyTo("UPDATE \"Users\"");

        using var response = await Client.PutAsync(created.Headers.Location, ApiHost.Json("""{"username":"jane_doe","email":"jane@example.com"}"""));

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var replaced = await ReadJsonAsync(response);
        Assert.Equal(("jane_doe", john.GetProperty("createdAt").GetString()), (replaced.GetProperty("username").GetString(), replaced.GetProperty("createdAt").GetString()));
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task APatchWithoutIfMatchWhoseUpdateReplyIsLostIs200WithTheWholeUserItWrote()
    {
        using var created = await Client.PostUserAsync(JohnJson);
        var john = await ReadJsonAsync(created);
        var lost = Proxy.LoseNextReplyTo("UPDATE \"Users\"");

        using var response = await Client.PatchUserAsync(created.Headers.Location!.OriginalString, """{"email":"johnny@example.com"}""");

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patched = await ReadJsonAsync(response);
        Assert.Equal("john_doe", patched.GetProperty("username").GetString());
        Assert.Equal("johnny@example.com", patched.GetProperty("email").GetString());
        Assert.Equal(john.GetProperty("createdAt").GetString(), patched.GetProperty("createdAt").GetString());
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal(("john_doe", "johnny@example.com"), (stored.Username, stored.Email));
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task ADeleteWhoseReplyIsLostIs204()
    {
        var (url, _) = await CreateJohnAsync();
        var lost = Proxy.LoseNextReplyTo("DELETE FROM \"Users\"");

        using var response = await Client.DeleteAsync(url);

        await AssertLostAsync(lost);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await StoredUsersAsync());
    }

    [Theory]
    [InlineData("COMMIT")] // the write and its stored response committed; only the acknowledgement is gone
    [InlineData("INSERT INTO \"Users\"")] // inside the transaction: the cut rolls it back, and the retry writes it
    [InlineData("INSERT INTO \"IdempotencyKeys\"")] // the key's claim
    public async Task AKeyedCreateWhoseReplyIsLostIs201AndARetryWithTheKeyReplaysIt(string statement)
    {
        var key = $"\"{Guid.NewGuid()}\"";
        var lost = Proxy.LoseNextReplyTo(statement);

        using var response = await Client.PostUserAsync(JohnJson, key);
        await AssertLostAsync(lost);
        using var retry = await Client.PostUserAsync(JohnJson, key);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(response.Headers.Location, retry.Headers.Location);
        Assert.Equal(await response.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal(ETagOf(retry), $"\"{stored.Version:N}\"");
    }

    [Theory]
    [InlineData("COMMIT")]
    [InlineData("UPDATE \"Users\"")]
    public async Task AKeyedPatchWhoseReplyIsLostIs200AndARetryWithTheKeyReplaysIt(string statement)
    {
        var (url, etag) = await CreateJohnAsync();
        var key = $"\"{Guid.NewGuid()}\"";
        var lost = Proxy.LoseNextReplyTo(statement);

        using var response = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", key, ifMatch: etag);
        await AssertLostAsync(lost);
        using var retry = await Client.PatchUserAsync(url, """{"username":"jane_doe"}""", key, ifMatch: etag);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(ETagOf(response), ETagOf(retry));
        var stored = Assert.Single(await StoredUsersAsync());
        Assert.Equal("jane_doe", stored.Username);
        Assert.Equal(ETagOf(response), $"\"{stored.Version:N}\"");
    }

    [Fact]
    public async Task ConnectionsCutTwiceUnderConcurrentLoadGiveOnlyHonestAnswersAndEvery201IsStored()
    {
        const int Requests = 120;
        var (url, _) = await CreateJohnAsync();
        var answers = Enumerable.Range(0, Requests).Select(i => Task.Run(async () =>
        {
            using var response = i % 3 == 2
                ? await Client.GetAsync(url)
                : await Client.PostUserAsync($$"""{"username":"user_{{i}}","email":"user{{i}}@example.com"}""", i % 3 == 1 ? $"\"{Guid.NewGuid()}\"" : null);
            return (response.StatusCode, Location: response.Headers.Location?.OriginalString);
        })).ToList();

        for (var cut = 0; cut < 2; cut++)
        {
            await Poll.UntilAsync(() => Task.FromResult(answers.Count(a => a.IsCompleted) >= Requests * (cut + 1) / 3 || answers.All(a => a.IsCompleted)));
            Proxy.DropOpenConnections();
        }

        var results = await Task.WhenAll(answers);

        HttpStatusCode[] honest = [HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.Conflict, HttpStatusCode.ServiceUnavailable];
        var dishonest = results.Where(r => !honest.Contains(r.StatusCode)).Select(r => r.StatusCode).ToList();
        Assert.True(dishonest.Count == 0, $"Answers {string.Join(", ", dishonest)}; the host's errors:\n" +
            string.Join("\n", Server.HostLog.GetSnapshot().Where(record => record.Level == LogLevel.Error).TakeLast(10).Select(record => record.Message)));
        var stored = (await StoredUsersAsync()).Select(u => $"/api/users/{u.Id}").ToHashSet();
        Assert.All(results.Where(r => r.StatusCode == HttpStatusCode.Created), r => Assert.Contains(r.Location!, stored));
        Assert.Contains(results, r => r.StatusCode == HttpStatusCode.Created);
    }

    private static async Task AssertLostAsync(Task lost)
    {
        var done = await Task.WhenAny(lost, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(done == lost, "The proxy never saw the statement whose reply it was to lose.");
    }

    private async Task<(string Url, string ETag)> CreateJohnAsync()
    {
        using var response = await Client.PostUserAsync(JohnJson);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (response.Headers.Location!.OriginalString, ETagOf(response));
    }

    private async Task<List<(long Id, string Username, string Email, Guid Version)>> StoredUsersAsync()
    {
        await using var connection = await ((PostgreSqlTestDatabase)Server.Database).OpenAsync();
        await using var command = new NpgsqlCommand("SELECT \"Id\", \"Username\", \"Email\", \"Version\" FROM \"Users\" ORDER BY \"Id\"", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var users = new List<(long, string, string, Guid)>();
        while (await reader.ReadAsync())
        {
            users.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetGuid(3)));
        }

        return users;
    }
}
