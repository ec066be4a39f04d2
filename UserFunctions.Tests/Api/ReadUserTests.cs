using System.Net;
using System.Net.Http.Headers;

namespace UserFunctions.Tests.Api;

public abstract class ReadUserTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : ReadUserTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : ReadUserTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : ReadUserTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : ReadUserTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Fact]
    public async Task GettingAUserReturnsItWithTheETagItWasCreatedWith()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var user = await ReadJsonAsync(created);

        using var response = await Client.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ETagOf(created), ETagOf(response));
        Assert.Equal(user.ToString(), (await ReadJsonAsync(response)).ToString());
    }

    [Fact]
    public async Task IfNoneMatchWithTheCurrentETagIs304WithNoBody()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await SendAsync(HttpMethod.Get, created.Headers.Location!.OriginalString,
            configure: r => r.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(ETagOf(created))));

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(ETagOf(created), ETagOf(response));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task IfNoneMatchWithAnOldETagReturnsTheUser()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await SendAsync(HttpMethod.Get, created.Headers.Location!.OriginalString,
            configure: r => r.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse("\"00000000000000000000000000000000\"")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("999999")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("2147483648")]
    [InlineData("99999999999999999999")]
    public async Task AnUnknownNonNumericOrOutOfRangeIdIs404Problem(string id)
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            using var response = await SendAsync(method, $"/api/users/{id}");
            await AssertProblemAsync(response, HttpStatusCode.NotFound);
        }

        using var put = await Client.PutAsync($"/api/users/{id}", ApiHost.Json("""{"username":"jane_doe","email":"jane@example.com"}"""));
        await AssertProblemAsync(put, HttpStatusCode.NotFound);
        Assert.Equal(1, await Server.CountUsersAsync());
    }
}
