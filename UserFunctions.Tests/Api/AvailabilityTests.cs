using System.Net;
using Microsoft.Data.Sqlite;

namespace UserFunctions.Tests.Api;

public sealed class AvailabilityTests : ApiTestBase
{
    protected override bool OpenExistingDatabaseOnly => true;

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
        var hidden = Server.DatabasePath + ".hidden";

        SqliteConnection.ClearAllPools();
        File.Move(Server.DatabasePath, hidden);
        try
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
        finally
        {
            File.Move(hidden, Server.DatabasePath);
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
        await Server.ExecuteSqlAsync("DROP TABLE Users");

        using var response = await Client.GetAsync("/api/users");

        var problem = await AssertProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
    }

    [Fact]
    public async Task UnknownRoutesAndMethodsAreProblemsToo()
    {
        using var unknown = await Client.GetAsync("/api/nothing-here");
        using var wrongMethod = await Client.PostAsync("/api/health", ApiServer.Json("{}"));

        await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        await AssertProblemAsync(wrongMethod, HttpStatusCode.MethodNotAllowed);
    }
}
