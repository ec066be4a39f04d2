using static System.FormattableString;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>
/// The <c>telemetry</c> suite: what OpenTelemetry costs "ours", on the dev server (SQLite) and on the Functions path (the
/// Functions app behind the test host, as the <c>functions</c> suite runs it). Per host, two pairs in alternating rounds:
/// OTLP/HTTP export to <see cref="OtlpSink"/> at full sampling next to no exporter configured; then no exporter next to
/// <c>OTEL_SDK_DISABLED=true</c>. Without an exporter setting no SDK is registered at all, so the second pair runs the same
/// code twice: it shows the noise floor of the first pair's ratio, and that "none configured" costs nothing measurable.
/// <c>--env OTEL_...</c> overrides the exporting server's settings (a sampler, say).
/// </summary>
internal sealed partial class RunCommand
{
    private static readonly string[] TelemetryScenarios = ["get", "post"];

    private readonly int _portOtlp = Port("BENCH_OTLP_PORT", 5182);

    private async Task RunTelemetrySuiteAsync()
    {
        string[] scenarios = [.. _options.Scenarios.Where(TelemetryScenarios.Contains)];
        if (scenarios.Length == 0)
        {
            throw new BenchException("the telemetry suite measures the get and post scenarios; --scenarios names neither");
        }

        Step(Invariant($"telemetry: OTLP sink on 127.0.0.1:{_portOtlp}"));
        await using var sink = await OtlpSink.StartAsync(_portOtlp);
        // --env reaches both servers of every pair, before the suite's own settings; an OTEL_* setting of --env (a sampler, batch
        // sizes) replaces the suite's default instead of losing to it.
        string[] exporting =
        [
            .. new[]
            {
                Invariant($"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{_portOtlp}"), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
                "OTEL_TRACES_SAMPLER=always_on", "OTEL_SERVICE_NAME=userfunctions-bench",
            }.Where(setting => !_options.ApiEnv.Any(given => NameOf(given) == NameOf(setting))),
        ];
        string[] disabled = ["OTEL_SDK_DISABLED=true"];
        foreach (var (host, kind) in new[] { ("sqlite", ServerKind.DevServer), ("functions", ServerKind.Functions) })
        {
            await TelemetryPairAsync($"telemetry-{host}", kind, exporting, [], sink, scenarios);
            await TelemetryPairAsync($"telemetry-{host}-none", kind, [], disabled, sink, scenarios);
        }
    }

    private static string NameOf(string setting) => setting[..setting.IndexOf('=', StringComparison.Ordinal)];

    /// <summary>Two servers of the same kind, each on its own copy of the seeded database, differing only in <paramref name="envA"/> and <paramref name="envB"/>.</summary>
    private async Task TelemetryPairAsync(string suite, ServerKind kind, string[] envA, string[] envB, OtlpSink sink, string[] scenarios)
    {
        string Copy(string name)
        {
            var file = Path.Combine(_work, name);
            File.Copy(Path.Combine(_work, "seed.db"), file, overwrite: true);
            return file;
        }

        Step(Invariant($"{suite}: start {Name(kind)} with [{string.Join(' ', envA)}] (port {_portA}) and with [{string.Join(' ', envB)}] (port {_portB})"));
        var before = sink.Counts();
        using (var serverA = StartServer(kind, _portA, new Database.Sqlite(Copy($"{suite}-a.db")), $"{suite}-a", envA))
        using (var serverB = StartServer(kind, _portB, new Database.Sqlite(Copy($"{suite}-b.db")), $"{suite}-b", envB))
        {
            await WaitOkAsync(Url(_portA, "/api/health"), serverA);
            await WaitOkAsync(Url(_portB, "/api/health"), serverB);
            var pages = Path.Combine(_work, "pages-api.txt");
            var a = SlotOf("a", kind, _portA, pages, serverA);
            var b = SlotOf("b", kind, _portB, pages, serverB);
            await SmokeAsync(a, $"{suite}-a");
            await SmokeAsync(b, $"{suite}-b");

            await RunLoadAsync(suite, a, b, scenarios);
            _measured.Add(MemoryOf(suite, "a", a.RssPid));
            _measured.Add(MemoryOf(suite, "b", b.RssPid));
        }

        OtlpSink.Record(_work, suite, before, sink.Counts());
    }
}
