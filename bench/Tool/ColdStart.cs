using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using UserFunctions.Bench.Tool.Run;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// One cold-start measurement: milliseconds from process start (and from its child's start) to the first 200, and the CPU
/// time the child had used by then.
/// </summary>
internal sealed record ColdStartResult(
    IReadOnlyList<double> RunsMs,
    double MedianMs,
    double MinMs,
    double MaxMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ChildRunsMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? ChildMedianMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ChildCpuRunsMs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? ChildCpuMedianMs = null);

/// <summary>
/// Times process start to the first 200 response, several times, and prints one JSON line:
/// <c>{"runs_ms":[...],"median_ms":...,"min_ms":...,"max_ms":...,"child_runs_ms":[...],"child_median_ms":...}</c>. The
/// child figures are for a command that starts the server as its child (the Functions test host starts the worker): from
/// the child's start to the first 200, so the host's own start-up is left out; <c>child_cpu_runs_ms</c> is the CPU time
/// (user + system) the child had used when the first 200 came, which a busy machine inflates far less than the wall
/// time. The poller itself is warmed up before the first run and sleeps between attempts so it takes little CPU from the
/// starting server.
/// </summary>
internal static class ColdStart
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

    /// <summary>The <c>coldstart</c> command: prints the result as one JSON line.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 4 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var runs) || runs < 1)
        {
            Console.Error.WriteLine("coldstart: expected <runs> <url> <working directory> <command> [arguments...]");
            return 2;
        }

        var info = new ProcessStartInfo(args[3]) { WorkingDirectory = args[2], UseShellExecute = false };
        foreach (var argument in args[4..])
        {
            info.ArgumentList.Add(argument);
        }

        if (await MeasureAsync(runs, new Uri(args[1]), info, Console.Error) is not { } result)
        {
            return 1;
        }

        Console.WriteLine(JsonSerializer.Serialize(result, Json.Options));
        return 0;
    }

    /// <summary>
    /// Starts the process <paramref name="runs"/> times; null (with the reason in the log) when a run fails. With
    /// <paramref name="serverOutput"/>, the process's output goes there; otherwise to this process's console.
    /// </summary>
    public static async Task<ColdStartResult?> MeasureAsync(int runs, Uri url, ProcessStartInfo info, TextWriter log, TextWriter? serverOutput = null)
    {
        info.RedirectStandardOutput = info.RedirectStandardError = serverOutput is not null;
        // A first request that takes long (EF's start-up on a busy machine) must be waited for, not cancelled and sent again.
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false })
        {
            Timeout = StartTimeout,
        };

        // Warm up the poller (JIT, sockets) and make sure nothing else answers on the port.
        if (await TryGetAsync(http, url) is not null || IsListening(url))
        {
            log.WriteLine($"coldstart: something already listens on {url.Authority}; stop it first.");
            return null;
        }

        var times = new List<double>();
        var childTimes = new List<double>();
        var childCpuTimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
            if (serverOutput is not null)
            {
                DataReceivedEventHandler write = (_, e) =>
                {
                    if (e.Data is not null)
                    {
                        serverOutput.WriteLine(e.Data);
                    }
                };
                process.OutputDataReceived += write;
                process.ErrorDataReceived += write;
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
            }

            double? elapsed = null;
            try
            {
                while (stopwatch.Elapsed < StartTimeout && !process.HasExited)
                {
                    if (await TryGetAsync(http, url) == 200)
                    {
                        elapsed = stopwatch.Elapsed.TotalMilliseconds;
                        if (FirstChild(process.Id) is { } child)
                        {
                            childCpuTimes.Add(child.CpuMs);
                            childTimes.Add(Math.Round(elapsed.Value - child.StartedAfterMs, 1));
                        }

                        break;
                    }

                    await Task.Delay(PollInterval);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            if (elapsed is null)
            {
                log.WriteLine($"coldstart: run {run + 1} got no 200 from {url} within {StartTimeout.TotalSeconds} s (exited: {process.HasExited}).");
                return null;
            }

            times.Add(Math.Round(elapsed.Value, 1));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coldstart: run {run + 1}: {elapsed.Value:F1} ms"));
            await Task.Delay(250);
        }

        return new ColdStartResult(
            times, Median(times), times.Min(), times.Max(),
            childTimes.Count == times.Count ? childTimes : null, childTimes.Count == times.Count ? Median(childTimes) : null,
            childCpuTimes.Count == times.Count ? childCpuTimes : null, childCpuTimes.Count == times.Count ? Median(childCpuTimes) : null);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// The process's first child (the test host's worker): how long after the process itself it started, and the CPU time
    /// it has used so far, from /proc (clock ticks of 10 ms: USER_HZ is 100 on x86-64 Linux); null when it has no child.
    /// </summary>
    private static (double StartedAfterMs, double CpuMs)? FirstChild(int pid)
    {
        try
        {
            var child = Directory.GetDirectories($"/proc/{pid}/task")
                .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .FirstOrDefault();
            return child is null
                ? null
                : ((StatField(child, 22) - StatField(pid.ToString(CultureInfo.InvariantCulture), 22)) * 10.0,
                    (StatField(child, 14) + StatField(child, 15)) * 10.0);
        }
        catch (IOException)
        {
            return null;
        }
    }

    // Field n (1-based) of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count from its closing parenthesis.
    private static long StatField(string pid, int field)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
    }

    private static async Task<int?> TryGetAsync(HttpClient http, Uri url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static bool IsListening(Uri url)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(url.Host, url.Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
