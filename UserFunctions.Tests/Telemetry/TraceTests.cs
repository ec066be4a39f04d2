using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;
using SpanKind = UserFunctions.Tests.Telemetry.Otlp.Span.Types.SpanKind;

namespace UserFunctions.Tests.Telemetry;

/// <summary>
/// One trace from the caller's <c>traceparent</c> to the database command, exported over OTLP to a receiver in the test: on the
/// dev server, and on the Functions app where the spans leave a separate worker process as they do in production.
/// </summary>
public abstract class TraceTests(TracedHost host)
{
    public sealed class OnDevServerSqlite(TracedDevServerOnSqlite host) : TraceTests(host), IClassFixture<TracedDevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(TracedFunctionsOnSqlite host) : TraceTests(host), IClassFixture<TracedFunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(TracedDevServerOnPostgreSql host) : PostgreSqlTraceTests(host), IClassFixture<TracedDevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(TracedFunctionsOnPostgreSql host) : PostgreSqlTraceTests(host), IClassFixture<TracedFunctionsOnPostgreSql>;

    protected TracedHost Host { get; } = host;

    [Fact]
    public async Task ACreateIsOneTraceFromTheCallerToTheInsertWithoutTheValuesItWrote()
    {
        var username = "trace_" + Guid.NewGuid().ToString("N")[..12];
        var (traceId, response) = await SendTracedAsync(HttpMethod.Post, "api/users", $$"""{"username":"{{username}}","email":"{{username}}@example.com"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trace = await WaitForOperationAsync(traceId, "CreateUser", span => span.IsDatabaseSpan && QueryOf(span).Contains("INSERT", StringComparison.OrdinalIgnoreCase));
        var operation = OperationSpan(trace, "CreateUser");
        Assert.Equal("/api/users", operation.Attribute("http.route"));
        Assert.Equal("POST /api/users", operation.Name);
        // The SQL's shape, never the values bound to it.
        Assert.DoesNotContain(trace.SelectMany(span => span.Attributes.Values), value => value?.ToString()?.Contains(username, StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AGetByIdNamesItsSpanAfterTheRouteTemplateNotThePath()
    {
        var id = await CreateUserAsync();

        var (traceId, response) = await SendTracedAsync(HttpMethod.Get, $"api/users/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var trace = await WaitForOperationAsync(traceId, "GetUser", span => span.IsDatabaseSpan);
        var operation = OperationSpan(trace, "GetUser");
        Assert.Equal("/api/users/{id}", operation.Attribute("http.route"));
        Assert.Equal("GET /api/users/{id}", operation.Name);
        Assert.Equal("200", operation.Attribute("http.response.status_code"));
        Assert.All(trace, span => Assert.DoesNotContain($"/users/{id}", span.Name, StringComparison.Ordinal));
        if (Host.Kind == HostKind.DevServer)
        {
            Assert.Equal(SpanKind.Server, operation.Kind);
        }
        else
        {
            // The worker's invocation span, under the host's request span (the server span, which the test host does not
            // export); the worker adds no ASP.NET Core span of the same request.
            Assert.Equal("Microsoft.Azure.Functions.Worker", operation.Scope);
            Assert.DoesNotContain(trace, span => span.Scope == "Microsoft.AspNetCore");
        }
    }

    [Fact]
    public async Task RequestDurationsAndTheApisCountersAreExportedAsMetrics()
    {
        await CreateUserAsync();

        await Host.Receiver.WaitForMetricsAsync("http.server.request.duration", "userfunctions.users.created");
    }

    [Fact]
    public async Task AnIdempotentReplayIsMarkedOnItsTrace()
    {
        const string Body = """{"username":"replayed_jane","email":"replayed_jane@example.com"}""";
        var key = $"\"{Guid.NewGuid()}\"";
        using (var first = await SendTracedAsync(HttpMethod.Post, "api/users", Body, key).ContinueWith(t => t.Result.Response))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        var (traceId, replayed) = await SendTracedAsync(HttpMethod.Post, "api/users", Body, key);

        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        var trace = await WaitForOperationAsync(traceId, "CreateUser", span => span.Events.Any(e => e.Name == "userfunctions.idempotent.replay"));
        Assert.Contains(trace, span => span.Attributes.GetValueOrDefault("userfunctions.idempotent.replay") is true);
    }

    [Fact]
    public async Task AHealthProbeIsNotTracedWhileTheRequestsAroundItAre()
    {
        var (healthTraceId, health) = await SendTracedAsync(HttpMethod.Get, "api/health");
        var (usersTraceId, users) = await SendTracedAsync(HttpMethod.Post, "api/users", """{"username":"after_probe","email":"after_probe@example.com"}""");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.Created, users.StatusCode);
        await WaitForOperationAsync(usersTraceId, "CreateUser", span => span.IsDatabaseSpan);
        // The probe's spans ended before the create began; give a batch that might still hold one (every 0.1 s here) time to arrive.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(Host.Receiver.SpansOf(healthTraceId));
    }

    /// <summary>Sends a request with a new caller's <c>traceparent</c> (sampled), returning the trace id it names.</summary>
    protected async Task<(string TraceId, HttpResponseMessage Response)> SendTracedAsync(
        HttpMethod method, string url, string? json = null, string? idempotencyKey = null)
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        if (json is not null)
        {
            request.Content = ApiHost.Json(json);
        }

        var response = await Host.Client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return (traceId, response);
    }

    protected async Task<long> CreateUserAsync()
    {
        var username = "u" + Guid.NewGuid().ToString("N")[..12];
        using var response = await Host.Client.PostAsync("api/users", ApiHost.Json($$"""{"username":"{{username}}","email":"{{username}}@example.com"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>
    /// Waits for the trace to hold the span of <paramref name="operation"/> and a span below it that <paramref name="below"/>
    /// accepts (every span of the trace carries the caller's trace id by construction of the query), and for one that
    /// <paramref name="alsoWaitFor"/> accepts: the spans of one request can come in several batches.
    /// </summary>
    protected Task<IReadOnlyList<ReceivedSpan>> WaitForOperationAsync(
        string traceId, string operation, Func<ReceivedSpan, bool> below, Func<ReceivedSpan, bool>? alsoWaitFor = null) =>
        Host.Receiver.WaitForTraceAsync(traceId, trace =>
            (alsoWaitFor is null || trace.Any(alsoWaitFor))
            && trace.Any(parent => parent.Attribute("userfunctions.operation") == operation
                && trace.Any(span => below(span) && (span == parent || span.DescendsFrom(parent, trace)))));

    /// <summary>
    /// The span the API named after the operation that the database commands run under: on the dev server ASP.NET Core's
    /// server span, on Functions the worker's invocation span.
    /// </summary>
    protected static ReceivedSpan OperationSpan(IReadOnlyList<ReceivedSpan> trace, string operation) =>
        trace.First(span => span.Attribute("userfunctions.operation") == operation
            && trace.Any(db => db.IsDatabaseSpan && db.DescendsFrom(span, trace)));

    private static string QueryOf(ReceivedSpan span) => span.Attribute("db.query.text") ?? span.Attribute("db.statement") ?? span.Name;
}

/// <summary>What the API does behind a caller's back, on the trace: a retry after a transient failure, a check whether a write landed.</summary>
public abstract class PostgreSqlTraceTests(TracedHost host) : TraceTests(host)
{
    private FaultProxy Proxy => ((PostgreSqlTestDatabase)Host.Database).Proxy;

    [Fact]
    public async Task DatabaseOperationDurationsAreExportedAsMetrics()
    {
        await CreateUserAsync();

        await Host.Receiver.WaitForMetricsAsync("db.client.operation.duration");
    }

    [Fact]
    public async Task ACreateOnABrokenConnectionShowsTheCheckThatItDidNotLandAndItsRetry()
    {
        await CreateUserAsync(); // leaves an open connection in the host's pool
        Proxy.DropOpenConnections();

        var (traceId, response) = await SendTracedAsync(HttpMethod.Post, "api/users", """{"username":"retried_john","email":"retried_john@example.com"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trace = await WaitForOperationAsync(traceId, "CreateUser", span => span.Events.Any(e => e.Name == "userfunctions.db.retry"));
        var retry = trace.SelectMany(span => span.Events).Single(e => e.Name == "userfunctions.db.retry");
        Assert.Equal(1L, retry.Attributes["userfunctions.retry.number"]);
        Assert.False(string.IsNullOrEmpty(retry.Attributes["error.type"]?.ToString()));
        var verified = trace.SelectMany(span => span.Events).Single(e => e.Name == "userfunctions.write.verified");
        Assert.Equal(false, verified.Attributes["userfunctions.write.landed"]);
    }

    [Fact]
    public async Task A503NamesItsCauseOnTheTraceWhoseIdTheProblemQuotes()
    {
        var id = await CreateUserAsync();

        string traceId;
        HttpResponseMessage response;
        await using (Proxy.Cut())
        {
            (traceId, response) = await SendTracedAsync(HttpMethod.Get, $"api/users/{id}");
        }

        using (response)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(traceId, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("traceId").GetString());
        }

        var trace = await WaitForOperationAsync(
            traceId, "GetUser", span => span.Events.Any(e => e.Name == "userfunctions.unavailable"),
            alsoWaitFor: span => span.Attribute("http.response.status_code") == "503");
        var unavailable = trace.SelectMany(span => span.Events).Single(e => e.Name == "userfunctions.unavailable");
        Assert.Equal("database_unavailable", unavailable.Attributes["userfunctions.unavailable.cause"]);
        Assert.Contains(trace.SelectMany(span => span.Events), e => e.Name == "userfunctions.db.retries_exhausted");
        Assert.Contains(trace, span => span.Attribute("http.response.status_code") == "503");
        // The API's warning about it carries the trace context, on the span the API added its events to.
        var logSpanId = await Host.Receiver.WaitForLogAsync(traceId, "Warning");
        Assert.Contains(trace, span => span.SpanId == logSpanId && span.Events.Any(e => e.Name == "userfunctions.unavailable"));
    }

    [Fact]
    public async Task ACreateWhoseInsertReplyIsLostShowsTheCheckThatItLandedAndNoRetry()
    {
        var lost = Proxy.LoseNextReplyTo("INSERT INTO \"Users\"");

        var (traceId, response) = await SendTracedAsync(HttpMethod.Post, "api/users", """{"username":"lost_john","email":"lost_john@example.com"}""");

        await lost.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trace = await WaitForOperationAsync(traceId, "CreateUser", span => span.Events.Any(e => e.Name == "userfunctions.write.verified"));
        var verified = trace.SelectMany(span => span.Events).Single(e => e.Name == "userfunctions.write.verified");
        Assert.Equal(true, verified.Attributes["userfunctions.write.landed"]);
        Assert.DoesNotContain(trace.SelectMany(span => span.Events), e => e.Name == "userfunctions.db.retry");
    }
}
