using System.Net;

namespace UserFunctions.Tests.Api;

public abstract class AvailabilityTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : AvailabilityTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : AvailabilityTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : AvailabilityTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : AvailabilityTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Fact]
    public async Task HealthIs200WhenTheDatabaseAnswers()
    {
        using var response = await Client.GetAsync("/api/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", (await ReadJsonAsync(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task WhenTheDatabaseGoesAwayRequestsAre503WithRetryAfterAndRecoverWithoutARestart()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;

        await using (await Server.Database.TakeOfflineAsync())
        {
            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => Client.GetAsync(url),
                () => Client.GetAsync("/api/users"),
                () => Server.CreateAsync("jane_doe", "jane@example.com"),
                () => Client.DeleteAsync(url),
            })
            {
                using var response = await request();
                var problem = await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "A 503 must say when to retry.");
                Assert.True(problem.TryGetProperty("traceId", out _));
            }

            using var health = await Client.GetAsync("/api/health");
            var healthProblem = await AssertProblemAsync(health, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", healthProblem.GetProperty("title").GetString());
            Assert.NotNull(health.Headers.RetryAfter);
        }

        using var recovered = await Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        using var healthy = await Client.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AnUnexpectedDatabaseErrorIsA500WithATraceIdAndNoExceptionText()
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");
        await Server.ExecuteSqlAsync("ALTER TABLE \"Users\" RENAME TO \"UsersGone\"");
        try
        {
            using var response = await Client.GetAsync("/api/users");

            var problem = await AssertProblemAsync(response, HttpStatusCode.InternalServerError);
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        }
        finally
        {
            await Server.ExecuteSqlAsync("ALTER TABLE \"UsersGone\" RENAME TO \"Users\"");
        }
    }

    [Fact]
    public async Task UnknownRoutesAndMethodsAreAnsweredAsTheHostDoes()
    {
        using var unknown = await Client.GetAsync("/api/nothing-here");
        using var wrongMethod = await Client.PostAsync("/api/health", ApiHost.Json("{}"));

        if (Server.Kind == HostKind.Functions)
        {
            // The Functions host answers a request no function takes itself, with an empty 404 for route and method alike.
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, wrongMethod.StatusCode);
            Assert.Empty(await unknown.Content.ReadAsStringAsync());
        }
        else
        {
            // The dev server's routing answers with problems: 404 for the route, 405 for the method.
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
            await AssertProblemAsync(wrongMethod, HttpStatusCode.MethodNotAllowed);
        }
    }
}
