using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using UserFunctions.Core.Telemetry;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Telemetry;

/// <summary>The API's own counters count what happened to users once each, and a replay is not a second creation.</summary>
public sealed class ApiMetricsTests(TracedDevServerOnSqlite host) : IClassFixture<TracedDevServerOnSqlite>
{
    [Fact]
    public async Task EachWriteIsCountedOnceAndAReplayAsAReplay()
    {
        var meters = host.Services!.GetRequiredService<IMeterFactory>();
        using var created = Collector(meters, "userfunctions.users.created");
        using var updated = Collector(meters, "userfunctions.users.updated");
        using var deleted = Collector(meters, "userfunctions.users.deleted");
        using var replays = Collector(meters, "userfunctions.idempotent.replays");

        const string Body = """{"username":"counted_jane","email":"counted_jane@example.com"}""";
        using var first = await PostAsync(Body, "\"counted-key\"");
        using var replay = await PostAsync(Body, "\"counted-key\"");
        var url = first.Headers.Location!;
        using var patched = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, url)
        {
            Content = ApiHost.Json("""{"email":"jane@example.com"}""", "application/merge-patch+json"),
        });
        using var deletedResponse = await host.Client.DeleteAsync(url);
        using var missing = await host.Client.DeleteAsync(url);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deletedResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(1, Sum(created));
        Assert.Equal(1, Sum(replays));
        Assert.Equal(1, Sum(updated));
        Assert.Equal(1, Sum(deleted));
    }

    private Task<HttpResponseMessage> PostAsync(string json, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/users") { Content = ApiHost.Json(json) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return host.Client.SendAsync(request);
    }

    private static MetricCollector<long> Collector(IMeterFactory meters, string instrument) => new(meters, ApiMetrics.MeterName, instrument);

    private static long Sum(MetricCollector<long> collector) => collector.GetMeasurementSnapshot().Sum(m => m.Value);
}
