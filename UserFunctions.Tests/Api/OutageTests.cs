using System.Diagnostics;
using System.Net;
using UserFunctions.Core.Data;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Api;

/// <summary>
/// Outages that make the host wait rather than fail at once: a server that accepts connections and never answers, and a
/// connection pool that is all in use. Each test starts a host of its own, with the settings the case needs, on both hosts.
/// </summary>
public sealed class OutageTests
{
    [Theory]
    [InlineData(HostKind.DevServer)]
    [InlineData(HostKind.Functions)]
    public async Task AServerThatNeverAnswersIsA503WithinTheRetryBudgetAndTheNextRequestAfterItRecovers(HostKind kind)
    {
        // Four retries, a budget of 8 s and a 2 s connection timeout. Without the budget the five attempts and their back-off
        // take about 19 s (checked); with it, no retry starts that could end after 8 s: three attempts, about 7 s.
        await using var host = await StartAsync(kind, BudgetSettings());
        using var created = await host.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;

        HttpResponseMessage response;
        TimeSpan elapsed;
        await using (host.Proxy.Stall())
        {
            host.Proxy.DropOpenConnections();
            var clock = Stopwatch.StartNew();
            response = await host.Client.GetAsync(url);
            elapsed = clock.Elapsed;
        }

        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "A 503 must say when to retry.");
        }

        Assert.True(elapsed < TimeSpan.FromSeconds(8 + 2), $"The request took {elapsed}: past the retry budget plus one connection timeout.");
        using var recovered = await host.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Theory]
    [InlineData(HostKind.DevServer)]
    [InlineData(HostKind.Functions)]
    public async Task AKeyedWriteThatLosesTheDatabaseAfterItsClaimIsA503WithinOneRetryBudget(HostKind kind)
    {
        // The claim, the write and the release share the request's budget: before they did not, and a keyed write whose
        // database stalled after the claim answered after the write's own budget plus the release's.
        // Should the cut miss the INSERT waiting on the lock, its command times out instead of waiting 30 s.
        await using var host = await StartAsync(kind, BudgetSettings(("Database:CommandTimeoutSeconds", "4")));
        var database = (PostgreSqlTestDatabase)host.Database;
        await using var locker = await database.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new Npgsql.NpgsqlCommand("LOCK TABLE \"Users\" IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        // The claim commits; the user's INSERT then waits on the lock until the database goes silent.
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = ApiHost.Json("""{"username":"john_doe","email":"john@example.com"}""") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", "\"stalled-after-claim\"");
        var pending = host.Client.SendAsync(request);
        await Poll.UntilAsync(async () => await database.QueriesWaitingOnLocksAsync() == 1);
        HttpResponseMessage response;
        await using (host.Proxy.Stall())
        {
            host.Proxy.DropOpenConnections();
            response = await pending;
        }

        var elapsed = clock.Elapsed;
        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
        }

        // One budget (8 s), one connection timeout (2 s) and the release's bound, plus 2 s for a loaded machine's scheduling
        // (the clock also covers the wait for the lock): the failure this catches takes 16 s or more.
        Assert.True(
            elapsed < TimeSpan.FromSeconds(8 + 2 + 2) + IdempotencyStore.ReleaseTimeout,
            $"The keyed request took {elapsed}: past one retry budget, one connection timeout and the release's bound (each step with its own budget took 16 s or more).");
    }

    [Theory]
    [InlineData(HostKind.DevServer)]
    [InlineData(HostKind.Functions)]
    public async Task AnExhaustedConnectionPoolIsA503AndTheWaitingRequestsStillSucceed(HostKind kind)
    {
        await using var host = await StartAsync(kind, new()
        {
            ["ConnectionStrings:Users"] = "Maximum Pool Size=2;Timeout=2",
        });
        await host.CreateUserAsync("john_doe", "john@example.com");

        // Two list requests take both pooled connections and wait on a lock this test holds.
        var database = (PostgreSqlTestDatabase)host.Database;
        await using var locker = await database.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new Npgsql.NpgsqlCommand("LOCK TABLE \"Users\" IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var waiting = Enumerable.Range(0, 2).Select(_ => host.Client.GetAsync("/api/users")).ToList();
        await Poll.UntilAsync(async () => await database.QueriesWaitingOnLocksAsync() == 2);

        using (var third = await host.Client.GetAsync("/api/users"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
            Assert.NotNull(third.Headers.RetryAfter);
        }

        await transaction.CommitAsync();
        foreach (var response in await Task.WhenAll(waiting))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }
    }

    // Four retries, a budget of 8 s and a 2 s connection timeout.
    private static Dictionary<string, string?> BudgetSettings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:MaxRetryCount"] = "4",
            ["Database:MaxRetryDelaySeconds"] = "5",
            ["Database:RetryBudgetSeconds"] = "8",
            ["ConnectionStrings:Users"] = "Timeout=2",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<CustomPostgreSqlHost> StartAsync(HostKind kind, Dictionary<string, string?> settings)
    {
        var host = new CustomPostgreSqlHost(kind, settings);
        try
        {
            await host.InitializeAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }
}
