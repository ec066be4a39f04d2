using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Tests.Telemetry;

/// <summary>The exporters are chosen by settings alone, and with none set no OpenTelemetry SDK is there to cost anything.</summary>
public sealed class TelemetrySettingsTests
{
    [Fact]
    public void WithNoExporterConfiguredNoOpenTelemetrySdkIsRegistered()
    {
        using var services = Build([]);

        Assert.Null(services.GetService<TracerProvider>());
        Assert.Null(services.GetService<MeterProvider>());
        Assert.NotNull(services.GetService<ApiMetrics>());
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/")]
    public void EitherExporterSettingRegistersTracesAndMetrics(string key, string value)
    {
        using var services = Build(new() { [key] = value });

        Assert.NotNull(services.GetService<TracerProvider>());
        Assert.NotNull(services.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("   ")]
    [InlineData("")]
    public void ABlankSettingIsNoSetting(string blank)
    {
        using var services = Build(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = blank, ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = blank });

        Assert.Null(services.GetService<TracerProvider>());
    }

    [Fact]
    public void TheIdentityBasedSettingNamesTheManagedIdentityTheAzureMonitorExporterSignsInAs()
    {
        Assert.Null(TelemetryExporters.IdentityOf(null));
        Assert.Null(TelemetryExporters.IdentityOf("ClientId=abc"));
        Assert.Equal(ManagedIdentityId.SystemAssigned.ToString(), TelemetryExporters.IdentityOf("Authorization=AAD")?.ToString());
        Assert.NotEqual(ManagedIdentityId.FromUserAssignedClientId("abc").ToString(), ManagedIdentityId.FromUserAssignedClientId("xyz").ToString());
        Assert.Equal(
            ManagedIdentityId.FromUserAssignedClientId("abc").ToString(),
            TelemetryExporters.IdentityOf("ClientId=abc;Authorization=AAD")?.ToString());
        Assert.Equal(
            ManagedIdentityId.FromUserAssignedClientId("abc").ToString(),
            TelemetryExporters.IdentityOf(" Authorization = aad ; ClientId = abc ")?.ToString());
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddMetrics();
        services.AddApiTelemetry(configuration);
        return services.BuildServiceProvider();
    }
}
