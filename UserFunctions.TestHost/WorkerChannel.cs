using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using UserFunctions.TestHost.Rpc;

namespace UserFunctions.TestHost;

/// <summary>Thrown when the worker fails to start, fails to load a function, or exits.</summary>
public sealed class WorkerFailedException(string message) : Exception(message);

/// <summary>What the worker told the host once every function loaded.</summary>
internal sealed record WorkerReady(Uri HttpUri, IReadOnlyList<HttpFunction> Functions, bool IndexedByWorker);

/// <summary>
/// The host's end of the worker's event stream: the handshake, function indexing and loading, then invocations,
/// cancellations and the worker's logs.
/// </summary>
internal sealed partial class WorkerChannel(string workerId, string appDirectory, ILogger logger)
{
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InvocationResponse>> _invocations = new();
    private readonly TaskCompletionSource<WorkerReady> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, RpcFunctionMetadata> _loading = [];
    private readonly List<HttpFunction> _functions = [];
    private Uri? _httpUri;
    private bool _indexedByWorker;
    private int _attached;

    public Task<WorkerReady> Ready => _ready.Task;

    /// <summary>The last error the worker logged: often why it is failing.</summary>
    public string? LastWorkerError { get; private set; }

    public async Task RunAsync(IAsyncStreamReader<StreamingMessage> fromWorker, IServerStreamWriter<StreamingMessage> toWorker, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _attached, 1) == 1)
        {
            throw new Grpc.Core.RpcException(new Status(StatusCode.AlreadyExists, "This host serves one worker."));
        }

        var writing = WriteAllAsync(toWorker, cancellationToken);
        try
        {
            await foreach (var message in fromWorker.ReadAllAsync(cancellationToken))
            {
                try
                {
                    Handle(message);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // A message the host cannot use (bad metadata, say) fails start-up with its reason.
                    Fail($"The host could not handle the worker's {message.ContentCase} message: {exception.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // The worker went away mid-stream.
        }
        finally
        {
            Close(new WorkerFailedException("The worker closed its event stream."));
        }

        await writing;
    }

    public Task<InvocationResponse> InvokeAsync(InvocationRequest request)
    {
        var response = new TaskCompletionSource<InvocationResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invocations[request.InvocationId] = response;
        if (!_outbound.Writer.TryWrite(new StreamingMessage { InvocationRequest = request }))
        {
            _invocations.TryRemove(request.InvocationId, out _);
            response.SetException(new WorkerFailedException("The worker is gone."));
        }

        return response.Task;
    }

    /// <summary>Stops waiting for an invocation's result.</summary>
    public void Forget(string invocationId) => _invocations.TryRemove(invocationId, out _);

    public void Cancel(string invocationId) =>
        _outbound.Writer.TryWrite(new StreamingMessage { InvocationCancel = new InvocationCancel { InvocationId = invocationId } });

    public bool Terminate(TimeSpan gracePeriod) =>
        _outbound.Writer.TryWrite(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(gracePeriod) } });

    /// <summary>Fails everything still waiting on the worker.</summary>
    public void Close(Exception reason)
    {
        _outbound.Writer.TryComplete();
        _ready.TrySetException(reason);
        foreach (var id in _invocations.Keys)
        {
            if (_invocations.TryRemove(id, out var pending))
            {
                pending.TrySetException(reason);
            }
        }
    }

    private async Task WriteAllAsync(IServerStreamWriter<StreamingMessage> toWorker, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(cancellationToken))
            {
                await toWorker.WriteAsync(message, cancellationToken);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The stream is over; RunAsync fails whatever was waiting.
        }
    }

    private void Send(StreamingMessage message) => _outbound.Writer.TryWrite(message);

    private void Handle(StreamingMessage message)
    {
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.StartStream:
                if (message.StartStream.WorkerId != workerId)
                {
                    Fail($"A worker with id '{message.StartStream.WorkerId}' connected; expected '{workerId}'.");
                    return;
                }

                Send(new StreamingMessage
                {
                    RequestId = message.RequestId,
                    WorkerInitRequest = new WorkerInitRequest
                    {
                        HostVersion = "4.0.0-usersfunctions-testhost",
                        WorkerDirectory = appDirectory,
                        FunctionAppDirectory = appDirectory,
                    },
                });
                break;

            case StreamingMessage.ContentOneofCase.WorkerInitResponse:
                var init = message.WorkerInitResponse;
                if (init.Result?.Status != StatusResult.Types.Status.Success)
                {
                    Fail($"The worker failed to initialize: {Describe(init.Result)}");
                    return;
                }

                if (!init.Capabilities.TryGetValue("HttpUri", out var httpUri))
                {
                    Fail("The worker did not report an HttpUri: the app must use ASP.NET Core integration (ConfigureFunctionsWebApplication).");
                    return;
                }

                _httpUri = new Uri(httpUri);
                Send(new StreamingMessage { FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = appDirectory } });
                break;

            case StreamingMessage.ContentOneofCase.FunctionMetadataResponse:
                LoadFunctions(message.FunctionMetadataResponse);
                break;

            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                var loaded = message.FunctionLoadResponse;
                if (loaded.Result?.Status != StatusResult.Types.Status.Success)
                {
                    var name = _loading.TryGetValue(loaded.FunctionId, out var function) ? function.Name : loaded.FunctionId;
                    Fail($"The worker failed to load function '{name}': {Describe(loaded.Result)}");
                    return;
                }

                _loading.Remove(loaded.FunctionId);
                if (_loading.Count == 0)
                {
                    _ready.TrySetResult(new WorkerReady(_httpUri!, [.. _functions], _indexedByWorker));
                }

                break;

            case StreamingMessage.ContentOneofCase.InvocationResponse:
                if (_invocations.TryRemove(message.InvocationResponse.InvocationId, out var pending))
                {
                    pending.TrySetResult(message.InvocationResponse);
                }

                break;

            case StreamingMessage.ContentOneofCase.RpcLog:
                LogFromWorker(message.RpcLog);
                break;

            default:
                LogIgnored(logger, message.ContentCase);
                break;
        }
    }

    private void LoadFunctions(FunctionMetadataResponse response)
    {
        if (response.Result is { Status: not StatusResult.Types.Status.Success } failed)
        {
            Fail($"The worker failed to index the functions: {Describe(failed)}");
            return;
        }

        // The worker may ask the host to read the build's functions.metadata instead of indexing itself.
        _indexedByWorker = !response.UseDefaultMetadataIndexing;
        var functions = response.UseDefaultMetadataIndexing
            ? HttpFunction.ReadMetadataFile(appDirectory).ToList()
            : [.. response.FunctionMetadataResults];
        if (functions.Count == 0)
        {
            Fail("The worker reported no functions.");
            return;
        }

        foreach (var metadata in functions)
        {
            if (string.IsNullOrEmpty(metadata.FunctionId))
            {
                metadata.FunctionId = Guid.NewGuid().ToString();
            }

            _loading[metadata.FunctionId] = metadata;
            if (HttpFunction.From(metadata) is { } http)
            {
                _functions.Add(http);
            }
        }

        // One request per function: the .NET worker does not handle the batched load request.
        foreach (var metadata in functions)
        {
            Send(new StreamingMessage { FunctionLoadRequest = new FunctionLoadRequest { FunctionId = metadata.FunctionId, Metadata = metadata } });
        }
    }

    private void Fail(string reason)
    {
        LogFailure(logger, reason);
        _ready.TrySetException(new WorkerFailedException(reason));
    }

    private void LogFromWorker(RpcLog log)
    {
        var level = log.Level switch
        {
            RpcLog.Types.Level.Trace => LogLevel.Trace,
            RpcLog.Types.Level.Debug => LogLevel.Debug,
            RpcLog.Types.Level.Information => LogLevel.Information,
            RpcLog.Types.Level.Warning => LogLevel.Warning,
            RpcLog.Types.Level.Error => LogLevel.Error,
            RpcLog.Types.Level.Critical => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level >= LogLevel.Error)
        {
            LastWorkerError = log.Exception is { } error ? $"{log.Message} {error.Message}" : log.Message;
        }

        if (logger.IsEnabled(level))
        {
            LogWorker(logger, level, log.Category, log.Message, log.Exception?.Message ?? "");
        }
    }

    private static string Describe(StatusResult? result) =>
        result?.Exception is { } exception ? exception.Message : result?.Result is { Length: > 0 } text ? text : "no details";

    [LoggerMessage(Message = "[{Category}] {Message} {Exception}")]
    private static partial void LogWorker(ILogger logger, LogLevel level, string category, string message, string exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason}")]
    private static partial void LogFailure(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a {Message} message from the worker")]
    private static partial void LogIgnored(ILogger logger, StreamingMessage.ContentOneofCase message);
}

/// <summary>The gRPC service the worker connects to; one stream per worker.</summary>
internal sealed class FunctionRpcService(WorkerChannel channel) : FunctionRpc.FunctionRpcBase
{
    public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context) =>
        channel.RunAsync(requestStream, responseStream, context.CancellationToken);
}
