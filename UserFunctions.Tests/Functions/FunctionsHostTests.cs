using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using UserFunctions.Core;
using UserFunctions.Core.Users;
using UserFunctions.TestHost;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

using UserFunctions.Tests.OpenApi;

namespace UserFunctions.Tests.Functions;

/// <summary>What only the Functions app has: function keys, the worker's start-up, and invocations the host cancels.</summary>
public sealed class FunctionsHostTests(FunctionsOnSqlite host) : IClassFixture<FunctionsOnSqlite>, IDisposable
{
    private readonly HttpClient _anonymous = new() { BaseAddress = host.Functions!.BaseAddress };

    public static TheoryData<string> OperationNames() => [.. ApiOperations.All.Select(o => o.Name)];

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task EachOperationTakesExactlyTheKeysItsAuthorizationLevelAsksFor(string operation)
    {
        var (method, url) = RequestFor(ApiOperations.All.Single(o => o.Name == operation));

        using var withoutKey = await _anonymous.SendAsync(new HttpRequestMessage(method, url));
        using var wrongKey = await _anonymous.SendAsync(WithHeaderKey(new HttpRequestMessage(method, url), "not-the-key"));
        using var headerKey = await _anonymous.SendAsync(WithHeaderKey(new HttpRequestMessage(method, url), ApiHost.FunctionKey));
        using var queryKey = await _anonymous.SendAsync(new HttpRequestMessage(method, $"{url}?code={ApiHost.FunctionKey}"));

        if (ApiOperations.All.Single(o => o.Name == operation).RequiresFunctionKey)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, withoutKey.StatusCode);
        }

        // With a key the request reaches the function: whatever it answers, it is the API's answer, not the host's 401.
        Assert.NotEqual(HttpStatusCode.Unauthorized, headerKey.StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, queryKey.StatusCode);
        Assert.Equal(headerKey.StatusCode, queryKey.StatusCode);
    }

    [Fact]
    public void TheWorkerIndexesOneFunctionPerOperationWithItsRouteMethodAndAuthLevel()
    {
        var indexed = host.Functions!.Functions
            .Select(f => (f.Name, f.Route, Method: Assert.Single(f.Methods), Key: !f.IsAnonymous))
            .Order();
        var operations = ApiOperations.All
            .Select(o => (o.Name, o.Route, o.Method, Key: o.RequiresFunctionKey))
            .Order();

        Assert.Equal(operations, indexed);
    }

    [Fact]
    public async Task TheListIs200WithAKeyInTheHeaderOrTheCodeQuery()
    {
        using var header = await _anonymous.SendAsync(WithHeaderKey(new HttpRequestMessage(HttpMethod.Get, "/api/users"), ApiHost.FunctionKey));
        using var query = await _anonymous.GetAsync($"/api/users?code={ApiHost.FunctionKey}");

        Assert.Equal(HttpStatusCode.OK, header.StatusCode);
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
    }

    [Fact]
    public async Task AClientCannotChooseTheInvocationIdThatPairsItsRequestWithAnInvocation()
    {
        using var request = WithHeaderKey(new HttpRequestMessage(HttpMethod.Get, "/api/users"), ApiHost.FunctionKey);
        request.Headers.Add("x-ms-invocation-id", Guid.NewGuid().ToString());

        using var response = await _anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ByDefaultTheWorkerSendsTheHostItsStartUpLogsButNoInformationLogPerRequest()
    {
        var before = host.Functions!.CompletedInvocations.Count;

        using var created = await host.CreateAsync("quiet_user", "quiet@example.com");
        using var read = await host.Client.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        // Logs and the InvocationResponse share one ordered stream, so once the host has both responses it has every log of
        // both invocations.
        await Poll.ForAsync(() => host.Functions.CompletedInvocations.Skip(before).Count() >= 2 ? "" : null);
        var log = host.HostLog.GetSnapshot();
        Assert.Contains(log, record => record.Message.Contains("[Microsoft.Hosting.Lifetime]", StringComparison.Ordinal));
        Assert.DoesNotContain(log, record => record.Level == LogLevel.Information
            && (record.Message.StartsWith("[UserFunctions.", StringComparison.Ordinal)
                || record.Message.StartsWith("[Microsoft.AspNetCore", StringComparison.Ordinal)
                || record.Message.StartsWith("[Microsoft.EntityFrameworkCore", StringComparison.Ordinal)));
    }

    [Fact]
    public void TheBuildsFunctionsMetadataDescribesTheFunctionsTheWorkerIndexed()
    {
        var fromFile = HttpFunction.ReadMetadataFile(ApiHost.FunctionsAppDirectory)
            .Select(HttpFunction.From)
            .Select(f => (f!.Name, f.Route, Methods: string.Join(",", f.Methods), f.AuthLevel))
            .Order();
        var fromWorker = host.Functions!.Functions
            .Select(f => (f.Name, f.Route, Methods: string.Join(",", f.Methods), f.AuthLevel))
            .Order();

        Assert.True(host.Functions.IndexedByWorker, "The worker should index its functions itself, or this test compares the file with itself.");
        Assert.Equal(fromWorker, fromFile);
        Assert.Equal(ApiOperations.All.Count, fromFile.Count());
    }

    public void Dispose() => _anonymous.Dispose();

    private static (HttpMethod Method, string Url) RequestFor(ApiOperation operation) =>
        (new HttpMethod(operation.Method), "/api/" + operation.Route.Replace("{id}", "1", StringComparison.Ordinal));

    private static HttpRequestMessage WithHeaderKey(HttpRequestMessage request, string key)
    {
        request.Headers.Add("x-functions-key", key);
        return request;
    }

}

/// <summary>Start-up failures: each test starts (and fails to start) a worker of its own.</summary>
public sealed class FunctionsStartupTests
{
    [Fact]
    public async Task AWorkerWithABadDatabaseProviderFailsFastNamingTheSetting()
    {
        using var loggerFactory = ApiHost.LoggerInto(new FakeLogCollector());

        var failure = await Assert.ThrowsAsync<WorkerFailedException>(() => ApiHost.StartFunctionsAsync(
            new Dictionary<string, string?> { ["Database:Provider"] = "Oracle" }, ApiHost.FunctionKey, loggerFactory));

        Assert.Contains("exited with code", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Database:Provider", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWorkerThatDiesIsReportedWithItsExitCodeAndRequestsFailInsteadOfHanging()
    {
        await using var database = new SqliteTestDatabase(pooling: false);
        var log = new FakeLogCollector();
        using var loggerFactory = ApiHost.LoggerInto(log);
        await using var host = await ApiHost.StartFunctionsAsync(await database.CreateAsync(), functionKey: null, loggerFactory);
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        System.Diagnostics.Process.GetProcessById(host.WorkerProcessId).Kill();

        Assert.NotEqual(0, await host.WorkerExited.WaitAsync(TimeSpan.FromSeconds(30)));
        await Poll.ForAsync(() => log.GetSnapshot().FirstOrDefault(record => record.Message.Contains("The worker exited with code", StringComparison.Ordinal))?.Message);
        using var response = await client.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task TheRequestLogsSettingSendsThePerRequestInformationLogsToTheHost()
    {
        await using var database = new SqliteTestDatabase(pooling: false);
        var log = new FakeLogCollector();
        using var loggerFactory = ApiHost.LoggerInto(log);
        var settings = new Dictionary<string, string?>(await database.CreateAsync()) { ["Logging:RequestLogs"] = "true" };
        await using var host = await ApiHost.StartFunctionsAsync(settings, functionKey: null, loggerFactory);
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        using var created = await client.PostUserAsync("""{"username":"logged_user","email":"logged@example.com"}""");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await Poll.ForAsync(() => log.GetSnapshot().FirstOrDefault(record => record.Message.Contains("[UserFunctions.Core.Users.UsersApi] Created user", StringComparison.Ordinal))?.Message);
        await Poll.ForAsync(() => log.GetSnapshot().FirstOrDefault(record => record.Message.Contains("[Microsoft.EntityFrameworkCore.Database.Command]", StringComparison.Ordinal))?.Message);
    }

    [Fact]
    public async Task StoppingTheHostStopsTheWorker()
    {
        await using var database = new SqliteTestDatabase(pooling: false);
        using var loggerFactory = ApiHost.LoggerInto(new FakeLogCollector());
        var host = await ApiHost.StartFunctionsAsync(await database.CreateAsync(), functionKey: null, loggerFactory);

        await host.DisposeAsync();

        Assert.True(host.WorkerExited.IsCompleted);
        Assert.Throws<ArgumentException>(() => System.Diagnostics.Process.GetProcessById(host.WorkerProcessId));
    }
}

/// <summary>
/// Cancellation end to end, on a database server where it can be watched: the request's query waits on a lock the test
/// holds, the client goes away, and the query must be gone from the server while the lock is still held.
/// </summary>
public sealed class FunctionsCancellationTests(FunctionsOnPostgreSql host) : IClassFixture<FunctionsOnPostgreSql>
{
    [Fact]
    public async Task AClientThatGoesAwayGetsItsInvocationCancelledAndItsQueryStopped()
    {
        var database = (PostgreSqlTestDatabase)host.Database;
        await using var locker = await LockTheUsersTableAsync(database);
        var before = host.Functions!.CompletedInvocations.Count;
        using var goneAway = new CancellationTokenSource();
        var request = host.Client.GetAsync("/api/users", goneAway.Token);
        await Poll.UntilAsync(async () => await database.QueriesWaitingOnLocksAsync() > 0);

        await goneAway.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        var invocation = await Poll.ForAsync(() => host.Functions.CompletedInvocations.Skip(before).FirstOrDefault(i => i.FunctionName == UserOperations.ListUsers));
        Assert.True(invocation.CancelSent, "The host should send InvocationCancel when the client goes away.");
        Assert.Contains(invocation.Outcome, new[] { "Failure", "Cancelled" });
        Assert.Equal(0, await database.QueriesWaitingOnLocksAsync());
    }

    [Fact]
    public async Task WhenTheHostCancelsAnInvocationItsQueryStopsThoughTheClientStillWaits()
    {
        var database = (PostgreSqlTestDatabase)host.Database;
        await using var locker = await LockTheUsersTableAsync(database);
        var before = host.Functions!.CompletedInvocations.Count;
        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        list.Options.Set(ConformanceHandler.AnsweredByTheHost, true);
        var request = host.Client.SendAsync(list);
        await Poll.UntilAsync(async () => await database.QueriesWaitingOnLocksAsync() > 0);

        // What the real host does when functionTimeout elapses or it shuts down: the HTTP connection stays open.
        host.Functions.CancelRunningInvocations();

        var invocation = await Poll.ForAsync(() => host.Functions.CompletedInvocations.Skip(before).FirstOrDefault(i => i.FunctionName == UserOperations.ListUsers));
        Assert.True(invocation.CancelSent);
        Assert.Contains(invocation.Outcome, new[] { "Failure", "Cancelled" });
        Assert.Equal(0, await database.QueriesWaitingOnLocksAsync());
        using var response = await request.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(response.IsSuccessStatusCode, $"A cancelled invocation must not look like a success: {(int)response.StatusCode}.");
    }

    /// <summary>Holds an exclusive lock on the table until disposed, so the API's queries wait in the server.</summary>
    private static async Task<NpgsqlConnection> LockTheUsersTableAsync(PostgreSqlTestDatabase database)
    {
        var connection = await database.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var lockTable = new NpgsqlCommand("LOCK TABLE \"Users\" IN ACCESS EXCLUSIVE MODE", connection, transaction);
        await lockTable.ExecuteNonQueryAsync();
        return connection;
    }
}
