using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>The line the Lua scripts' <c>done()</c> prints after <c>BENCH_JSON</c> (bench/wrk/common.lua).</summary>
internal sealed record WrkResult(
    long Requests,
    double DurationS,
    double Rps,
    Latency LatencyMs,
    [property: JsonPropertyName("non2xx")] long Non2xx,
    SocketErrors Errors);

internal sealed record Latency(double Mean, double P50, double P90, double P99, double Max);

internal sealed record SocketErrors(long Connect, long Read, long Write, long Timeout)
{
    public static SocketErrors Sum(IEnumerable<SocketErrors> all) =>
        all.Aggregate(new SocketErrors(0, 0, 0, 0), (s, e) => new(s.Connect + e.Connect, s.Read + e.Read, s.Write + e.Write, s.Timeout + e.Timeout));

    public long Count() => Connect + Read + Write + Timeout;
}

/// <summary>One wrk run of a scenario script (bench/wrk/&lt;scenario&gt;.lua) against one server.</summary>
internal sealed class Wrk(string scriptsFolder, int threads, int connections, int users)
{
    /// <summary>Runs wrk, writes its output to <paramref name="outputFile"/> and returns its result line.</summary>
    public async Task<WrkResult> RunAsync(int port, string scenario, int seconds, string pagesFile, string outputFile)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, UseShellExecute = false };
        var tag = string.Create(CultureInfo.InvariantCulture, $"r{Random.Shared.Next()}{Random.Shared.Next()}");
        string[] arguments =
        [
            "-t", Invariant(threads), "-c", Invariant(connections), "-d", $"{Invariant(seconds)}s", "--timeout", "5s",
            "-s", Path.Combine(scriptsFolder, $"{scenario}.lua"), $"http://127.0.0.1:{Invariant(port)}", "--", tag, Invariant(users),
        ];
        foreach (var argument in scenario == "list" ? [.. arguments, pagesFile] : arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new BenchException("could not start wrk");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        await File.WriteAllTextAsync(outputFile, output);

        const string Marker = "BENCH_JSON ";
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            Console.Error.Write(output);
            throw new BenchException($"wrk printed no result for {scenario} on port {port}");
        }

        return JsonSerializer.Deserialize<WrkResult>(line[Marker.Length..], Json.Options)!;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
