using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace UserFunctions.TestHost;

/// <summary>
/// The worker process, started as the Functions host starts it: the executable and entry from <c>worker.config.json</c>,
/// the host's command line, the host's environment plus <c>local.settings.json</c> values and the <c>FUNCTIONS_*</c>
/// variables, and the app folder as working directory.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private const int OutputLinesKept = 40;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process)
    {
        _process = process;
        Id = process.Id;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.Exited += (_, _) => _exited.TrySetResult(process.ExitCode);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (process.HasExited)
        {
            _exited.TrySetResult(process.ExitCode);
        }
    }

    public int Id { get; }

    /// <summary>Completes with the exit code when the worker exits, killed or not.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>The last lines the worker wrote to stdout and stderr: where an unhandled start-up exception ends up.</summary>
    public string OutputTail => string.Join(Environment.NewLine, _output);

    public static WorkerProcess Start(
        string appDirectory, Uri rpcUri, string workerId, IReadOnlyDictionary<string, string?> environment, bool applyLocalSettings)
    {
        var (executable, entry) = ReadWorkerConfig(appDirectory);
        var requestId = Guid.NewGuid().ToString();
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = appDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            entry,
            // What the host passes; the 2.x worker reads the --functions-* ones. Without the message length the worker's
            // limit is 0 and it dies on its first message.
            "--host", rpcUri.Host, "--port", rpcUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--workerId", workerId, "--requestId", requestId, "--grpcMaxMessageLength", "2147483647",
            "--functions-uri", rpcUri.ToString(), "--functions-worker-id", workerId,
            "--functions-request-id", requestId, "--functions-grpc-max-message-length", "2147483647",
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Core Tools applies local.settings.json Values that the environment does not already set.
        foreach (var (name, value) in applyLocalSettings ? ReadLocalSettings(appDirectory) : [])
        {
            if (!start.Environment.ContainsKey(name))
            {
                start.Environment[name] = value;
            }
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = appDirectory;
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = appDirectory;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start '{executable}'.");
        }

        return new WorkerProcess(process);
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public void Dispose()
    {
        Kill();
        // Let the exit be observed (and Exited complete) before the handle goes.
        _process.WaitForExit(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept && _output.TryDequeue(out _))
        {
        }
    }

    private static (string Executable, string Entry) ReadWorkerConfig(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "worker.config.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"'{appDirectory}' is not a built isolated-worker Functions app: it has no worker.config.json.");
        }

        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var description = config.RootElement.GetProperty("description");
        var executable = description.GetProperty("defaultExecutablePath").GetString() ?? "dotnet";
        var entry = description.GetProperty("defaultWorkerPath").GetString()
            ?? throw new InvalidOperationException($"{path} names no defaultWorkerPath.");

        // Under `dotnet test` or `dotnet run` the SDK names the dotnet it runs on; prefer it over whatever is on PATH.
        if (executable == "dotnet" && Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnetHost)
        {
            executable = dotnetHost;
        }

        return (executable, Path.Combine(appDirectory, entry));
    }

    private static IEnumerable<KeyValuePair<string, string?>> ReadLocalSettings(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "local.settings.json");
        if (!File.Exists(path))
        {
            yield break;
        }

        using var settings = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!settings.RootElement.TryGetProperty("Values", out var values))
        {
            yield break;
        }

        foreach (var value in values.EnumerateObject())
        {
            yield return new(value.Name, value.Value.ValueKind == JsonValueKind.String ? value.Value.GetString() : value.Value.GetRawText());
        }
    }
}
