using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UserFunctions.Tests.Telemetry.Otlp;

namespace UserFunctions.Tests.Telemetry;

/// <summary>
/// A minimal OTLP/HTTP endpoint on loopback: takes <c>POST /v1/traces</c>, <c>/v1/metrics</c> and <c>/v1/logs</c> in protobuf
/// and keeps the spans, the names of the metrics and the trace context of the log records it is sent.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentDictionary<string, bool> _metricNames = new();
    private readonly ConcurrentQueue<(string TraceId, string SpanId, string Severity)> _logs = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The value of <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> that sends here.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", receiver.ReceiveTracesAsync);
        app.MapPost("/v1/metrics", receiver.ReceiveMetricsAsync);
        app.MapPost("/v1/logs", receiver.ReceiveLogsAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Endpoint = new Uri(address);
        return receiver;
    }

    /// <summary>Waits until the spans of <paramref name="traceId"/> satisfy <paramref name="complete"/>, and returns them.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(string traceId, Func<IReadOnlyList<ReceivedSpan>, bool> complete)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var spans = _spans.Where(span => span.TraceId == traceId).ToList();
            if (complete(spans))
            {
                return spans;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The spans of trace {traceId} were not all exported within 30 s; received: "
                    + string.Join("; ", spans.Select(span => span.Describe())));
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The spans of <paramref name="traceId"/> received so far.</summary>
    public IReadOnlyList<ReceivedSpan> SpansOf(string traceId) => [.. _spans.Where(span => span.TraceId == traceId)];

    /// <summary>Waits until every one of <paramref name="names"/> has been exported as a metric.</summary>
    public async Task WaitForMetricsAsync(params string[] names)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!names.All(_metricNames.ContainsKey))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Metrics not exported within 30 s: {string.Join(", ", names.Where(n => !_metricNames.ContainsKey(n)))}; "
                    + $"exported: {string.Join(", ", _metricNames.Keys.Order())}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for a log record of <paramref name="traceId"/> at <paramref name="severity"/>, and returns its span id.</summary>
    public async Task<string> WaitForLogAsync(string traceId, string severity)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (_logs.FirstOrDefault(log => log.TraceId == traceId && log.Severity == severity) is { SpanId: { } spanId })
            {
                return spanId;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No {severity} log record of trace {traceId} was exported within 30 s.");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task<IResult> ReceiveTracesAsync(HttpRequest request)
    {
        var export = ExportTraceServiceRequest.Parser.ParseFrom(await ReadAsync(request));
        foreach (var scopeSpans in export.ResourceSpans.SelectMany(resource => resource.ScopeSpans))
        {
            foreach (var span in scopeSpans.Spans)
            {
                _spans.Enqueue(new ReceivedSpan(
                    Hex(span.TraceId),
                    Hex(span.SpanId),
                    span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId),
                    span.Name,
                    span.Kind,
                    scopeSpans.Scope?.Name ?? "",
                    span.Attributes.ToDictionary(a => a.Key, a => ValueOf(a.Value)),
                    [.. span.Events.Select(e => new ReceivedEvent(e.Name, e.Attributes.ToDictionary(a => a.Key, a => ValueOf(a.Value))))]));
            }
        }

        return Results.Bytes(new ExportTraceServiceResponse().ToByteArray(), "application/x-protobuf");
    }

    private async Task<IResult> ReceiveMetricsAsync(HttpRequest request)
    {
        var export = ExportMetricsServiceRequest.Parser.ParseFrom(await ReadAsync(request));
        foreach (var metric in export.ResourceMetrics.SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics))
        {
            _metricNames.TryAdd(metric.Name, true);
        }

        return Results.Bytes([], "application/x-protobuf");
    }

    private async Task<IResult> ReceiveLogsAsync(HttpRequest request)
    {
        var export = ExportLogsServiceRequest.Parser.ParseFrom(await ReadAsync(request));
        foreach (var log in export.ResourceLogs.SelectMany(r => r.ScopeLogs).SelectMany(s => s.LogRecords))
        {
            _logs.Enqueue((Hex(log.TraceId), Hex(log.SpanId), log.SeverityText));
        }

        return Results.Bytes([], "application/x-protobuf");
    }

    private static async Task<byte[]> ReadAsync(HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        return body.ToArray();
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static object? ValueOf(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        _ => null,
    };
}

public sealed record ReceivedSpan(
    string TraceId, string SpanId, string? ParentSpanId, string Name, Span.Types.SpanKind Kind, string Scope,
    IReadOnlyDictionary<string, object?> Attributes, IReadOnlyList<ReceivedEvent> Events)
{
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key)?.ToString();

    /// <summary>For failure messages.</summary>
    public string Describe() =>
        $"{Name} ({Scope}, {Kind}, {SpanId} under {ParentSpanId}, "
        + string.Join(" ", Attributes.Select(a => $"{a.Key}={a.Value}")) + ", events: " + string.Join(" ", Events.Select(e => e.Name)) + ")";

    public bool IsDatabaseSpan => Attributes.ContainsKey("db.system.name") || Attributes.ContainsKey("db.system");

    /// <summary>True when <paramref name="ancestor"/> is this span's parent, or its parent's, and so on within <paramref name="trace"/>.</summary>
    public bool DescendsFrom(ReceivedSpan ancestor, IReadOnlyList<ReceivedSpan> trace)
    {
        var bySpanId = trace.ToDictionary(span => span.SpanId);
        for (var parent = ParentSpanId; parent is not null; parent = bySpanId.GetValueOrDefault(parent)?.ParentSpanId)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }
}

public sealed record ReceivedEvent(string Name, IReadOnlyDictionary<string, object?> Attributes);
