using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// Times process start to the first 200 response, several times, and prints one JSON line:
/// <c>{"runs_ms":[...],"median_ms":...,"min_ms":...,"max_ms":...}</c>. The poller itself is warmed up before the first
/// run and sleeps between attempts so it takes little CPU from the starting server.
/// </summary>
internal static class ColdStart
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 4 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var runs) || runs < 1)
        {
            Console.Error.WriteLine("coldstart: expected <runs> <url> <working directory> <command> [arguments...]");
            return 2;
        }

        var url = new Uri(args[1]);
        var workingDirectory = args[2];
        var command = args[3];
        var arguments = args[4..];

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false })
        {
            Timeout = TimeSpan.FromSeconds(5),
        };

        // Warm up the poller (JIT, sockets) and make sure nothing else answers on the port.
        if (await TryGetAsync(http, url) is not null || IsListening(url))
        {
            Console.Error.WriteLine($"coldstart: something already listens on {url.Authority}; stop it first.");
            return 1;
        }

        var times = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var info = new ProcessStartInfo(command) { WorkingDirectory = workingDirectory, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            var stopwatch = Stopwatch.StartNew();
            using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
            double? elapsed = null;
            try
            {
                while (stopwatch.Elapsed < StartTimeout && !process.HasExited)
                {
                    if (await TryGetAsync(http, url) == 200)
                    {
                        elapsed = stopwatch.Elapsed.TotalMilliseconds;
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
                Console.Error.WriteLine($"coldstart: run {run + 1} got no 200 from {url} within {StartTimeout.TotalSeconds} s (exited: {process.HasExited}).");
                return 1;
            }

            times.Add(Math.Round(elapsed.Value, 1));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coldstart: run {run + 1}: {elapsed.Value:F1} ms"));
            await Task.Delay(250);
        }

        var sorted = times.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"runs_ms":[{{string.Join(",", times.Select(t => t.ToString(CultureInfo.InvariantCulture)))}}],"median_ms":{{median}},"min_ms":{{sorted[0]}},"max_ms":{{sorted[^1]}}}"""));
        return 0;
    }

    private static async Task<int?> TryGetAsync(HttpClient http, Uri url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
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
