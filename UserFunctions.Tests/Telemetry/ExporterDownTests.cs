using System.Diagnostics;
using System.Net;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Telemetry;

/// <summary>
/// An OTLP endpoint that refuses every connection costs the requests nothing: spans wait in the export queue, off the
/// request's path, and are dropped when the queue is full.
/// </summary>
public abstract class ExporterDownTests(TracedHost host)
{
    public sealed class OnDevServer(DevServerExportingNowhere host) : ExporterDownTests(host), IClassFixture<DevServerExportingNowhere>;

    public sealed class OnFunctions(FunctionsExportingNowhere host) : ExporterDownTests(host), IClassFixture<FunctionsExportingNowhere>;

    [Fact]
    public async Task RequestsSucceedWhileTheExporterCannotConnect()
    {
        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            using var created = await host.Client.PostAsync("api/users", ApiHost.Json($$"""{"username":"down_{{i}}","email":"down_{{i}}@example.com"}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var read = await host.Client.GetAsync(created.Headers.Location);
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        // Generous: forty requests take well under a second here; an export on the request's path would cost seconds each.
        Assert.InRange(elapsed.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
    }
}
