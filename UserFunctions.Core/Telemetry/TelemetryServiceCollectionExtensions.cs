using System.Runtime.CompilerServices;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using UserFunctions.Core.Health;

namespace UserFunctions.Core.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// The API's counters (<see cref="ApiMetrics"/>) always, and OpenTelemetry traces, metrics and logs only when an exporter is
    /// configured: Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set, OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is (with the other standard <c>OTEL_*</c> settings), or both. With neither, no
    /// OpenTelemetry SDK is registered: nothing listens, so no span or measurement is even created.
    /// </summary>
    /// <param name="configureHost">What the host adds to the SDK (the Functions worker: its invocation spans).</param>
    /// <param name="serverSpans">
    /// Whether ASP.NET Core's request spans are traced: false in the Functions worker, where the host's request span and the
    /// worker's invocation span already cover the request, and a third span of it would only cost.
    /// </param>
    public static IServiceCollection AddApiTelemetry(
        this IServiceCollection services, IConfiguration configuration, Action<OpenTelemetryBuilder>? configureHost = null, bool serverSpans = true)
    {
        services.TryAddSingleton<ApiMetrics>();
        var exporters = TelemetryExporters.From(configuration);
        if (!exporters.None)
        {
            AddOpenTelemetry(services, configuration, exporters, configureHost, serverSpans);
        }

        return services;
    }

    // A method of its own, so that without an exporter the OpenTelemetry and Azure Monitor assemblies are not even loaded
    // (compiling a method loads the assemblies of everything it calls).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddOpenTelemetry(
        IServiceCollection services, IConfiguration configuration, TelemetryExporters exporters, Action<OpenTelemetryBuilder>? configureHost,
        bool serverSpans)
    {
        services.TryAddSingleton<SqliteCommandSpans>();
        var traceHealth = HealthTracing.Enabled(configuration);
        var telemetry = services.AddOpenTelemetry()
            .WithTracing(tracing =>
            {
                tracing
                    .AddSource(ApiTelemetry.SourceName)
                    .AddSqlClientInstrumentation()
                    // SQLite has no spans of its own: SqliteCommandSpans, an interceptor on the SQLite context, makes them.
                    .AddNpgsql();
                if (serverSpans)
                {
                    tracing.AddAspNetCoreInstrumentation(options => options.Filter = context => traceHealth || !IsHealthProbe(context));
                }
            })
            .WithMetrics(metrics => metrics
                .AddMeter(ApiMetrics.MeterName)
                // Of ASP.NET Core's meters only the one of http.server.request.duration: Kestrel's, routing's and the others
                // (which AddAspNetCoreInstrumentation would all add) cost on every request and answer nothing we alert on.
                .AddMeter(AspNetCoreHostingMeter)
                .AddSqlClientInstrumentation()
                .AddNpgsqlInstrumentation())
            .WithLogging();

        if (exporters.Otlp)
        {
            // Endpoint, protocol, headers, batch delays: the standard OTEL_EXPORTER_OTLP_* and OTEL_BSP_* settings.
            telemetry.UseOtlpExporter();
        }

        if (exporters.AzureMonitor)
        {
            telemetry.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = exporters.AzureMonitorConnectionString;
                // Local authentication is off on the deployed Application Insights: the app's identity sends (see infra/).
                if (exporters.AzureMonitorIdentity is { } identity)
                {
                    options.Credential = new ManagedIdentityCredential(identity);
                }
            });
        }

        configureHost?.Invoke(telemetry);
    }

    private const string AspNetCoreHostingMeter = "Microsoft.AspNetCore.Hosting";

    private static bool IsHealthProbe(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/" + ApiOperations.RoutePrefix + "/" + HealthApi.Route);
}

/// <summary>Which exporters the settings ask for.</summary>
internal sealed record TelemetryExporters(bool Otlp, string? AzureMonitorConnectionString, string? AzureMonitorAuthentication)
{
    public bool AzureMonitor => AzureMonitorConnectionString is not null;

    // Parsed only where the exporter is configured: naming ManagedIdentityId in From would map Azure.Core into every process.
    public ManagedIdentityId? AzureMonitorIdentity => IdentityOf(AzureMonitorAuthentication);

    public bool None => !Otlp && !AzureMonitor;

    public static TelemetryExporters From(IConfiguration configuration)
    {
        var connectionString = NullIfBlank(configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        return new(
            Otlp: NullIfBlank(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) is not null,
            connectionString,
            connectionString is null ? null : configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
    }

    /// <summary>
    /// The managed identity that the Functions host's identity-based setting names (<c>Authorization=AAD;ClientId=...</c> for a
    /// user-assigned one, <c>Authorization=AAD</c> for the system-assigned one); the worker's exporter does not read it by itself.
    /// </summary>
    internal static ManagedIdentityId? IdentityOf(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString))
        {
            return null;
        }

        var parts = authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);
        return parts.GetValueOrDefault("Authorization") is { } kind && kind.Equals("AAD", StringComparison.OrdinalIgnoreCase)
            ? NullIfBlank(parts.GetValueOrDefault("ClientId")) is { } clientId
                ? ManagedIdentityId.FromUserAssignedClientId(clientId)
                : ManagedIdentityId.SystemAssigned
            : null;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

public static class TelemetryApplicationBuilderExtensions
{
    /// <summary>
    /// Reports each API request to <see cref="ApiTelemetry"/> on an ASP.NET Core host. Placed after routing (where
    /// <c>WebApplication</c> puts it), so the endpoint says which operation runs; a request that throws is named but not counted.
    /// </summary>
    public static IApplicationBuilder UseApiTelemetry(this IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ApiOperation>() is not { } operation)
        {
            await next(context);
            return;
        }

        ApiTelemetry.OperationStarting(context, operation);
        await next(context);
        ApiTelemetry.OperationCompleted(context, operation, context.Response.StatusCode);
    });
}
