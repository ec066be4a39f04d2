using System.Buffers;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using static System.FormattableString;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>What the sink received from one pair of servers: a line of telemetry-sink.jsonl.</summary>
internal sealed record SinkTotal(string Suite, string Signal, long Requests, long Bytes);

/// <summary>
/// The telemetry suite's OTLP/HTTP receiver on loopback: answers 200 to <c>POST /v1/traces</c>, <c>/v1/metrics</c> and
/// <c>/v1/logs</c> once it has read the body, and counts requests and bytes per signal, so that the report shows the export
/// happened. It decodes nothing: the cost measured is the exporting app's, not a backend's.
/// </summary>
internal sealed class OtlpSink : IAsyncDisposable
{
    public static readonly string[] Signals = ["traces", "metrics", "logs"];

    private readonly WebApplication _app;
    private readonly long[] _requests = new long[3];
    private readonly long[] _bytes = new long[3];

    private OtlpSink(WebApplication app) => _app = app;

    public static async Task<OtlpSink> StartAsync(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var sink = new OtlpSink(app);
        app.Run(sink.ReceiveAsync);
        try
        {
            await app.StartAsync();
        }
        catch (IOException failure)
        {
            throw new BenchException(Invariant($"the OTLP sink cannot listen on 127.0.0.1:{port} ({failure.Message}); set BENCH_OTLP_PORT"));
        }

        return sink;
    }

    /// <summary>Requests and bytes received so far, per signal.</summary>
    public (long Requests, long Bytes)[] Counts() =>
        [.. Signals.Select((_, i) => (Interlocked.Read(ref _requests[i]), Interlocked.Read(ref _bytes[i])))];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Appends what the sink received between two <see cref="Counts"/> to the run's telemetry-sink.jsonl.</summary>
    public static void Record(string folder, string suite, (long Requests, long Bytes)[] before, (long Requests, long Bytes)[] after)
    {
        var lines = Signals.Select((signal, i) => JsonSerializer.Serialize(
            new SinkTotal(suite, signal, after[i].Requests - before[i].Requests, after[i].Bytes - before[i].Bytes), Json.Options) + "\n");
        File.AppendAllText(Path.Combine(folder, "telemetry-sink.jsonl"), string.Concat(lines));
    }

    /// <summary>Prints what each pair of servers of the telemetry suite exported (nothing when the suite did not run).</summary>
    public static void Print(string folder, TextWriter output)
    {
        var file = Path.Combine(folder, "telemetry-sink.jsonl");
        if (!File.Exists(file))
        {
            return;
        }

        var totals = File.ReadLines(file).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<SinkTotal>(l, Json.Options)!).ToList();
        output.WriteLine();
        output.WriteLine("OTLP sink (OTLP/HTTP protobuf on loopback), received while each pair of servers ran:");
        foreach (var suite in totals.GroupBy(t => t.Suite))
        {
            output.WriteLine($"  {suite.Key}: " + string.Join(", ", suite.Select(
                t => Invariant($"{t.Signal} {t.Requests} requests, {t.Bytes / 1048576.0:F1} MB"))));
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var signal = Array.IndexOf(Signals, context.Request.Path.Value?.StartsWith("/v1/", StringComparison.Ordinal) == true
            ? context.Request.Path.Value[4..]
            : null);
        if (!HttpMethods.IsPost(context.Request.Method) || signal < 0)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long bytes = 0;
        try
        {
            for (int read; (read = await context.Request.Body.ReadAsync(buffer)) > 0;)
            {
                bytes += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Interlocked.Increment(ref _requests[signal]);
        Interlocked.Add(ref _bytes[signal], bytes);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
    }
}
