using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using UserFunctions.TestHost.Rpc;
using Yarp.ReverseProxy.Forwarder;

namespace UserFunctions.TestHost;

/// <summary>
/// The host's HTTP front for ASP.NET Core integration: picks the function by route and method, checks the function key,
/// forwards the request to the worker's HTTP server with an <c>x-ms-invocation-id</c>, sends the matching InvocationRequest,
/// and answers once both are done. A client that goes away gets its invocation cancelled.
/// </summary>
internal sealed partial class FunctionsProxy(
    FunctionsTestHostOptions options, string routePrefix, WorkerReady worker, WorkerChannel channel,
    IHttpForwarder forwarder, ILogger logger) : IDisposable
{
    private const string InvocationIdHeader = "x-ms-invocation-id";
    private const string TraceParentHeader = "traceparent";
    private static readonly HttpTransformer AddInvocationHeaders = new InvocationHeadersTransformer();

    private readonly HttpMessageInvoker _toWorker = new(new RetryConnectHandler(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        // Header values go on as the front decoded them (Kestrel: UTF-8), so a non-ASCII value reaches the app instead of
        // failing the forward.
        RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8,
    }));

    private readonly string _destination = worker.HttpUri.ToString();
    private readonly byte[]? _functionKey = options.FunctionKey is null ? null : Encoding.UTF8.GetBytes(options.FunctionKey);

    private const int CompletedKept = 1000;

    private readonly ConcurrentDictionary<string, Running> _running = new();

    /// <summary>The last invocations that ended, oldest first.</summary>
    public ConcurrentQueue<CompletedInvocation> Completed { get; } = new();

    /// <summary>Cancels every running invocation while its client waits, as the host does at a timeout or a shutdown.</summary>
    public void CancelAll()
    {
        foreach (var running in _running.Values)
        {
            Cancel(running);
        }
    }

    public void Dispose() => _toWorker.Dispose();

    public static WebApplication Build(FunctionsTestHostOptions options, string routePrefix, WorkerReady worker, WorkerChannel channel, ILogger logger)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.Urls);
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton(services => new FunctionsProxy(
            options, routePrefix, worker, channel, services.GetRequiredService<IHttpForwarder>(), logger));
        var app = builder.Build();
        var proxy = app.Services.GetRequiredService<FunctionsProxy>();
        app.Run(proxy.HandleAsync);
        return app;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var routeValues = new RouteValueDictionary();
        var below = request.Path;
        var function = routePrefix.Length == 0 || request.Path.StartsWithSegments("/" + routePrefix, out below)
            ? worker.Functions.FirstOrDefault(f => f.Accepts(request.Method) && MatchesRoute(f, below, routeValues))
            : null;
        if (function is null)
        {
            // As the host: no function for this route and method is a bare 404.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!function.IsAnonymous && _functionKey is not null && !HasFunctionKey(request))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        // The worker pairs the request with its invocation by this header, so a client must not choose it.
        if (request.Headers.ContainsKey(InvocationIdHeader))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var running = new Running(Guid.NewGuid().ToString());
        context.Items[InvocationIdHeader] = running.InvocationId;
        context.Items[TraceParentHeader] = TraceParentFor(request);
        _running[running.InvocationId] = running;
        var invocation = channel.InvokeAsync(NewInvocation(running.InvocationId, function, routeValues, request));
        await using (context.RequestAborted.Register(() => Cancel(running)))
        {
            var error = await forwarder.SendAsync(context, _destination, _toWorker, ForwarderRequestConfig.Empty, AddInvocationHeaders);
            if (!running.CancelSent && error is not (ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient))
            {
                LogForwardFailed(logger, function.Name, error);
                // The worker never got the request, and would wait for it before failing the invocation.
                Cancel(running);
            }

            var outcome = await OutcomeAsync(invocation, function, running);
            _running.TryRemove(running.InvocationId, out _);
            Completed.Enqueue(new CompletedInvocation(running.InvocationId, function.Name, outcome, running.CancelSent));
            while (Completed.Count > CompletedKept && Completed.TryDequeue(out _))
            {
            }
        }
    }

    private void Cancel(Running running)
    {
        running.CancelSent = true;
        channel.Cancel(running.InvocationId);
    }

    private static bool MatchesRoute(HttpFunction function, PathString below, RouteValueDictionary values)
    {
        values.Clear();
        return function.TryMatch(below, values);
    }

    private bool HasFunctionKey(HttpRequest request)
    {
        StringValues key = request.Headers["x-functions-key"];
        if (StringValues.IsNullOrEmpty(key))
        {
            key = request.Query["code"];
        }

        return key.Count == 1 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key.ToString()), _functionKey);
    }

    private async Task<string> OutcomeAsync(Task<InvocationResponse> invocation, HttpFunction function, Running running)
    {
        try
        {
            var response = await invocation.WaitAsync(options.InvocationTimeout);
            var status = response.Result?.Status ?? StatusResult.Types.Status.Failure;
            if (status == StatusResult.Types.Status.Failure && !running.CancelSent)
            {
                LogInvocationFailed(logger, function.Name, response.Result?.Exception?.Message ?? "");
            }

            return status.ToString();
        }
        catch (TimeoutException)
        {
            LogInvocationTimedOut(logger, function.Name, options.InvocationTimeout.TotalSeconds);
            Cancel(running);
            channel.Forget(running.InvocationId);
            return "TimedOut";
        }
        catch (WorkerFailedException exception)
        {
            LogInvocationFailed(logger, function.Name, exception.Message);
            return "NoResponse";
        }
    }

    private sealed class Running(string invocationId)
    {
        public string InvocationId { get; } = invocationId;

        public volatile bool CancelSent;
    }

    private static InvocationRequest NewInvocation(string invocationId, HttpFunction function, RouteValueDictionary routeValues, HttpRequest request)
    {
        var invocation = new InvocationRequest
        {
            InvocationId = invocationId,
            FunctionId = function.FunctionId,
            // The request travels over HTTP; the trigger's value is an empty placeholder.
            InputData = { new ParameterBinding { Name = function.TriggerName, Data = new TypedData { Http = new RpcHttp() } } },
            TraceContext = new RpcTraceContext
            {
                TraceParent = (string)request.HttpContext.Items[TraceParentHeader]!,
                TraceState = request.Headers.TraceState.ToString(),
            },
        };

        // The worker binds route parameters such as `string id` from here, not from the URL.
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in query)
        {
            invocation.TriggerMetadata[name] = new TypedData { String = value };
        }

        foreach (var (name, value) in routeValues)
        {
            invocation.TriggerMetadata[name] = new TypedData { String = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "" };
        }

        invocation.TriggerMetadata["Query"] = new TypedData { Json = JsonSerializer.Serialize(query) };
        invocation.TriggerMetadata["Headers"] = new TypedData
        {
            Json = JsonSerializer.Serialize(request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)),
        };
        return invocation;
    }

    /// <summary>
    /// The invocation's W3C trace context, as the host makes it: a span of the caller's trace when the request has a valid
    /// <c>traceparent</c>, else of a new trace. The invocation request and the proxied request both carry it, so the
    /// worker sees the caller's trace id whichever it reads.
    /// </summary>
    private static string TraceParentFor(HttpRequest request)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            return current.Id!; // ASP.NET Core started it from the caller's traceparent, if there was one
        }

        var span = ActivitySpanId.CreateRandom();
        return ActivityContext.TryParse(request.Headers.TraceParent, null, out var caller)
            ? $"00-{caller.TraceId}-{span}-{(caller.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? "01" : "00")}"
            : $"00-{ActivityTraceId.CreateRandom()}-{span}-00";
    }

    /// <summary>
    /// The worker reports its HTTP address before its server listens, so the first requests after start-up can find
    /// nobody there; like the host, retry a request that could not connect (it has sent nothing yet).
    /// </summary>
    private sealed class RetryConnectHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private const int MaxAttempts = 10;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await base.SendAsync(request, cancellationToken);
                }
                catch (HttpRequestException exception) when (exception.HttpRequestError == HttpRequestError.ConnectionError && attempt < MaxAttempts)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken);
                }
            }
        }
    }

    private sealed class InvocationHeadersTransformer : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            // As the host: YARP's default request transforms, which also set X-Forwarded-For, -Host and -Proto.
            await Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.TryAddWithoutValidation(InvocationIdHeader, (string)httpContext.Items[InvocationIdHeader]!);
            proxyRequest.Headers.Remove(TraceParentHeader);
            proxyRequest.Headers.TryAddWithoutValidation(TraceParentHeader, (string)httpContext.Items[TraceParentHeader]!);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Forwarding to function {Function} failed: {Error}")]
    private static partial void LogForwardFailed(ILogger logger, string function, ForwarderError error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Function {Function} gave no result within {Seconds} s; cancelled it")]
    private static partial void LogInvocationTimedOut(ILogger logger, string function, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Function {Function} failed: {Error}")]
    private static partial void LogInvocationFailed(ILogger logger, string function, string error);
}
