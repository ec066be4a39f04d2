using System.Net;
using System.Net.Http.Headers;

namespace UserFunctions.Tests.Api;

public abstract class DeleteUserTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : DeleteUserTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : DeleteUserTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : DeleteUserTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : DeleteUserTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Fact]
    public async Task DeletingAUserIs204AndItIsGoneAfterwards()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.DeleteAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var after = await Client.GetAsync(created.Headers.Location);
        await AssertProblemAsync(after, HttpStatusCode.NotFound);
        using var again = await Client.DeleteAsync(created.Headers.Location);
        await AssertProblemAsync(again, HttpStatusCode.NotFound);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task DeleteWithAStaleIfMatchIs412AndKeepsTheUser()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        using var update = await Client.PutAsync(created.Headers.Location, ApiHost.Json("""{"username":"jane_doe","email":"jane@example.com"}"""));

        using var stale = await SendAsync(HttpMethod.Delete, created.Headers.Location!.OriginalString,
            configure: r => r.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ETagOf(created))));
        await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed);
        Assert.Equal(1, await Server.CountUsersAsync());

        using var current = await SendAsync(HttpMethod.Delete, created.Headers.Location!.OriginalString,
            configure: r => r.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ETagOf(update))));
        Assert.Equal(HttpStatusCode.NoContent, current.StatusCode);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AFreedUsernameCanBeTakenAgain()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        using var deleted = await Client.DeleteAsync(created.Headers.Location);

        using var again = await Server.CreateAsync("John_Doe", "john@example.com");

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.NotEqual(created.Headers.Location, again.Headers.Location);
    }
}
