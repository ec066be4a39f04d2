using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using UserFunctions.Core.Telemetry;
using UserFunctions.DevServer;
using UserFunctions.TestHost;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Telemetry;

/// <summary>
/// A host of either kind on its own database, exporting its telemetry over OTLP/HTTP (protobuf) to an <see cref="OtlpReceiver"/>
/// of the test: the dev server from the test process, the Functions app from its worker process. Configured by the standard
/// <c>OTEL_*</c> settings only, as a deployment would be.
/// </summary>
public abstract class TracedHost(HostKind kind, Func<TestDatabase> createDatabase, bool exporterDown = false, bool traceHealth = false) : ApiHost(kind, createDatabase)
{
    public OtlpReceiver Receiver { get; private set; } = null!;

    protected override async Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = exporterDown ? NobodyListening().ToString() : Receiver.Endpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // Export each batch of spans and logs within a tenth of a second, metrics every half second, so the test waits little.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_SERVICE_NAME"] = "userfunctions-tests",
        };
        if (traceHealth)
        {
            settings[HealthTracing.Setting] = "true";
        }

        return settings;
    }

    protected override async ValueTask StopDependenciesAsync()
    {
        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }
    }

    /// <summary>A loopback address whose port was free a moment ago: connections to it are refused.</summary>
    private static Uri NobodyListening()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }
}

public sealed class TracedDevServerOnSqlite() : TracedHost(HostKind.DevServer, () => new SqliteTestDatabase(pooling: true));

public sealed class TracedFunctionsOnSqlite() : TracedHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false));

public sealed class TracedDevServerOnPostgreSql() : TracedHost(HostKind.DevServer, () => new PostgreSqlTestDatabase());

public sealed class TracedFunctionsOnPostgreSql() : TracedHost(HostKind.Functions, () => new PostgreSqlTestDatabase());

public sealed class DevServerExportingNowhere() : TracedHost(HostKind.DevServer, () => new SqliteTestDatabase(pooling: true), exporterDown: true);

public sealed class FunctionsExportingNowhere() : TracedHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false), exporterDown: true);
