using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace UserFunctions.TestHost;

public sealed record FunctionsTestHostOptions
{
    /// <summary>A built isolated-worker app: the folder with <c>worker.config.json</c> and <c>functions.metadata</c>.</summary>
    public required string AppDirectory { get; init; }

    /// <summary>Where clients reach the functions; port 0 picks a free one (see <see cref="FunctionsTestHost.BaseAddress"/>).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:0";

    /// <summary>The key <c>function</c>-level functions require (header <c>x-functions-key</c> or query <c>code</c>); null serves every function without a key.</summary>
    public required string? FunctionKey { get; init; }

    /// <summary>Variables set for the worker on top of this process's environment and the app's local.settings.json.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the worker gets to stop after WorkerTerminate before it is killed.</summary>
    public TimeSpan TerminateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Apply the app folder's local.settings.json Values, as Core Tools does. Tests turn it off so a developer's
    /// own settings file cannot change what they run against.</summary>
    public bool ApplyLocalSettings { get; init; } = true;

    /// <summary>How long the host waits for an invocation's result before it cancels it (the real host's functionTimeout).</summary>
    public TimeSpan InvocationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>One invocation as the host saw it end: for tests that check what reached the worker.</summary>
public sealed record CompletedInvocation(string InvocationId, string FunctionName, string Outcome, bool CancelSent);

/// <summary>
/// A stand-in for the Azure Functions host: starts a built isolated-worker app as a worker process, speaks the host's side
/// of the worker protocol over gRPC, and serves the app's HTTP functions by proxying to the worker's own HTTP server, as
/// the host does with ASP.NET Core integration.
/// </summary>
public sealed partial class FunctionsTestHost : IAsyncDisposable
{
    private readonly WebApplication _rpcServer;
    private readonly WebApplication _front;
    private readonly WorkerProcess _worker;
    private readonly WorkerChannel _channel;
    private readonly FunctionsTestHostOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private FunctionsTestHost(
        WebApplication rpcServer, WebApplication front, WorkerProcess worker, WorkerChannel channel,
        FunctionsTestHostOptions options, ILogger logger, IReadOnlyList<HttpFunction> functions, CancellationTokenSource stopping)
    {
        _stopping = stopping;
        _rpcServer = rpcServer;
        _front = front;
        _worker = worker;
        _channel = channel;
        _options = options;
        _logger = logger;
        Functions = functions;
        BaseAddress = new Uri(Addresses(front).First());
    }

    public Uri BaseAddress { get; }

    public IReadOnlyList<HttpFunction> Functions { get; }

    /// <summary>host.json's <c>extensions.http.routePrefix</c>, without slashes (<c>api</c> unless set).</summary>
    public required string RoutePrefix { get; init; }

    /// <summary>False when the worker asked the host to read <c>functions.metadata</c> instead of indexing the functions itself.</summary>
    public required bool IndexedByWorker { get; init; }

    /// <summary>Sends InvocationCancel for every running invocation while its client still waits, as the real host does when
    /// <c>functionTimeout</c> elapses or it shuts down.</summary>
    public void CancelRunningInvocations() => _front.Services.GetRequiredService<FunctionsProxy>().CancelAll();

    public IReadOnlyCollection<CompletedInvocation> CompletedInvocations => _front.Services.GetRequiredService<FunctionsProxy>().Completed;

    public int WorkerProcessId => _worker.Id;

    /// <summary>Completes with the worker's exit code if it exits.</summary>
    public Task<int> WorkerExited => _worker.Exited;

    /// <summary>Starts the worker and returns once every function is loaded; throws <see cref="WorkerFailedException"/> with the worker's error otherwise.</summary>
    public static async Task<FunctionsTestHost> StartAsync(FunctionsTestHostOptions options, CancellationToken cancellationToken = default)
    {
        var appDirectory = Path.GetFullPath(options.AppDirectory);
        var logger = options.LoggerFactory.CreateLogger("UserFunctions.TestHost");
        var workerId = Guid.NewGuid().ToString();
        var channel = new WorkerChannel(workerId, appDirectory, options.LoggerFactory.CreateLogger("UserFunctions.TestHost.Worker"));

        var stopping = new CancellationTokenSource();
        var rpcServer = BuildRpcServer(channel);
        await rpcServer.StartAsync(cancellationToken);
        WorkerProcess? worker = null;
        WebApplication? front = null;
        try
        {
            worker = WorkerProcess.Start(appDirectory, new Uri(Addresses(rpcServer).First()), workerId, options.Environment, options.ApplyLocalSettings);
            var started = Stopwatch.StartNew();
            var ready = await WaitForWorkerAsync(channel, worker, options.StartTimeout, cancellationToken);
            await WaitForWorkerHttpAsync(ready.HttpUri, worker, options.StartTimeout - started.Elapsed, cancellationToken);
            _ = worker.Exited.ContinueWith(
                exit =>
                {
                    if (!stopping.IsCancellationRequested)
                    {
                        LogWorkerExited(logger, exit.Result, worker.OutputTail);
                    }

                    channel.Close(new WorkerFailedException($"The worker exited with code {exit.Result}."));
                },
                TaskScheduler.Default);

            var routePrefix = ReadRoutePrefix(appDirectory);
            front = FunctionsProxy.Build(options, routePrefix, ready, channel, logger);
            await front.StartAsync(cancellationToken);
            return new FunctionsTestHost(rpcServer, front, worker, channel, options, logger, ready.Functions, stopping)
            {
                IndexedByWorker = ready.IndexedByWorker,
                RoutePrefix = routePrefix,
            };
        }
        catch
        {
            await stopping.CancelAsync();
            if (front is not null)
            {
                await front.DisposeAsync();
            }

            worker?.Dispose();
            await rpcServer.DisposeAsync();
            stopping.Dispose();
            throw;
        }
    }

    /// <summary>Sends WorkerTerminate, kills the worker if it is still running after the grace period, and stops serving.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _front.StopAsync();
        await _front.DisposeAsync();
        if (_channel.Terminate(_options.TerminateGracePeriod))
        {
            await Task.WhenAny(_worker.Exited, Task.Delay(_options.TerminateGracePeriod));
        }

        if (!_worker.Exited.IsCompleted)
        {
            LogKilling(_logger);
        }

        _worker.Dispose();
        _channel.Close(new WorkerFailedException("The host stopped."));
        await _rpcServer.StopAsync();
        await _rpcServer.DisposeAsync();
        _stopping.Dispose();
    }

    /// <summary>
    /// The worker reports its HTTP address before its server listens; the host must not send the first request into the
    /// gap. Waits until the address accepts connections.
    /// </summary>
    private static async Task WaitForWorkerHttpAsync(Uri httpUri, WorkerProcess worker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(httpUri.Host, httpUri.Port, cancellationToken);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline && !worker.Exited.IsCompleted)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (System.Net.Sockets.SocketException)
            {
                throw new WorkerFailedException(Join($"The worker's HTTP server at {httpUri} did not accept connections.", worker.OutputTail));
            }
        }
    }

    private static async Task<WorkerReady> WaitForWorkerAsync(WorkerChannel channel, WorkerProcess worker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var timedOut = Task.Delay(timeout, cancellationToken);
        var first = await Task.WhenAny(channel.Ready, worker.Exited, timedOut);
        if (first == channel.Ready)
        {
            try
            {
                return await channel.Ready;
            }
            catch (WorkerFailedException exception)
            {
                // The handshake failed; the worker's own output usually says why.
                await Task.WhenAny(worker.Exited, Task.Delay(TimeSpan.FromSeconds(2), cancellationToken));
                throw new WorkerFailedException(Join(exception.Message, channel.LastWorkerError, worker.OutputTail));
            }
        }

        if (first == worker.Exited)
        {
            throw new WorkerFailedException(Join($"The worker exited with code {await worker.Exited} before it was ready.", channel.LastWorkerError, worker.OutputTail));
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new WorkerFailedException(Join($"The worker was not ready within {timeout.TotalSeconds:0} s.", channel.LastWorkerError, worker.OutputTail));
    }

    private static string Join(params string?[] parts) =>
        string.Join(System.Environment.NewLine, parts.Where(part => !string.IsNullOrWhiteSpace(part)));

    private static WebApplication BuildRpcServer(WorkerChannel channel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = null;
            grpc.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton(channel);
        var app = builder.Build();
        app.MapGrpcService<FunctionRpcService>();
        return app;
    }

    private static IEnumerable<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;

    /// <summary>host.json's <c>extensions.http.routePrefix</c>; <c>api</c> when it is not set, as in the host.</summary>
    private static string ReadRoutePrefix(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "host.json");
        if (!File.Exists(path))
        {
            return "api";
        }

        using var hostJson = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        return hostJson.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("http", out var http)
            && http.TryGetProperty("routePrefix", out var prefix)
            ? prefix.GetString()?.Trim('/') ?? "api"
            : "api";
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The worker exited with code {ExitCode}. Its last output:\n{Output}")]
    private static partial void LogWorkerExited(ILogger logger, int exitCode, string output);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The worker did not stop within the grace period; killing it")]
    private static partial void LogKilling(ILogger logger);
}
