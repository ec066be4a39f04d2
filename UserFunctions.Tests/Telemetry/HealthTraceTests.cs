using System.Diagnostics;
using System.Net;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Telemetry;

/// <summary>
/// <c>Telemetry:TraceHealth=true</c> brings back the spans of health probes, dropped by default (see
/// <see cref="TraceTests.AHealthProbeIsNotTracedWhileTheRequestsAroundItAre"/>), on the Functions app. Alone: every host in this
/// test process sees every ASP.NET Core request activity of the process, so a traced dev server running at the same time would
/// drop the test host's span of the probe (its filter's verdict), and the test host would pass the worker an unsampled
/// <c>traceparent</c>.
/// </summary>
[Collection(nameof(HealthTraceTests))]
public sealed class HealthTraceTests(FunctionsTracingHealth host) : IClassFixture<FunctionsTracingHealth>
{
    [Fact]
    public async Task AHealthProbeIsTracedWhenAskedFor()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/health");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The worker's invocation span.
        await host.Receiver.WaitForTraceAsync(traceId, trace => trace.Any(span => span.Scope == "Microsoft.Azure.Functions.Worker"));
    }
}

public sealed class FunctionsTracingHealth() : TracedHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false), traceHealth: true);

[CollectionDefinition(nameof(HealthTraceTests), DisableParallelization = true)]
public sealed class HealthTraceTestsRunAlone;
