using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace UserFunctions.Core.Telemetry;

/// <summary>
/// What the API adds to the request's trace: the operation and route template on its span, and events for what the caller
/// cannot see (a retry after a transient failure, a check whether a failed write landed, an answer replayed from an
/// <c>Idempotency-Key</c>, a 503 and its cause). Each is a no-op when nothing records the trace.
/// </summary>
public static class ApiTelemetry
{
    /// <summary>The API's own spans and events; the SDK listens to it when an exporter is configured.</summary>
    public const string SourceName = "UserFunctions";

    public const string OperationTag = "userfunctions.operation";
    public const string CauseTag = "userfunctions.unavailable.cause";

    private static readonly object ReplayedItem = new();

    /// <summary>
    /// Names the request's spans after the operation and its route template (never the path, which holds ids). Called by each
    /// host before the handler runs, so that a request that fails is named too.
    /// </summary>
    public static void OperationStarting(HttpContext context, ApiOperation operation)
    {
        var route = RouteOf(operation);
        Name(Activity.Current, context.Request.Method, route, operation.Name);
        var server = context.Features.Get<IHttpActivityFeature>()?.Activity;
        if (server != Activity.Current)
        {
            Name(server, context.Request.Method, route, operation.Name);
        }

        if (context.Features.Get<IHttpMetricsTagsFeature>() is { } metricTags && context.GetEndpoint() is null)
        {
            // Without an endpoint ASP.NET Core's metrics have no route to report.
            metricTags.Tags.Add(new("http.route", route));
        }
    }

    /// <summary>Counts the outcome of a request that <see cref="OperationStarting"/> named, with the status it answers.</summary>
    public static void OperationCompleted(HttpContext context, ApiOperation operation, int statusCode)
    {
        if (context.Items.ContainsKey(ReplayedItem))
        {
            return;
        }

        var metrics = context.RequestServices.GetService<ApiMetrics>();
        switch (operation.Name, statusCode)
        {
            case (Users.UserOperations.CreateUser, StatusCodes.Status201Created):
                metrics?.UserCreated();
                break;
            case (Users.UserOperations.ReplaceUser or Users.UserOperations.PatchUser, StatusCodes.Status200OK):
                metrics?.UserUpdated();
                break;
            case (Users.UserOperations.DeleteUser, StatusCodes.Status204NoContent):
                metrics?.UserDeleted();
                break;
        }
    }

    /// <summary>
    /// The Functions worker's side of <see cref="OperationStarting"/> and <see cref="OperationCompleted"/>, once the invocation has
    /// its result (a failure is mapped to its problem first): the function's name says which operation ran, and the result the
    /// status the response will have (the integration writes it after the worker's middleware).
    /// </summary>
    public static void FunctionCompleted(HttpContext? context, string functionName, object? result)
    {
        if (context is not null && OperationsByName.TryGetValue(functionName, out var operation))
        {
            OperationStarting(context, operation);
            var statusCode = StatusOf(result) ?? context.Response.StatusCode;
            OperationCompleted(context, operation, statusCode);
            // The worker traces no ASP.NET Core span of its own (the host's request span covers the request): the invocation
            // span says what was answered.
            if (Activity.Current is { IsAllDataRequested: true } invocation)
            {
                invocation.SetTag("http.request.method", context.Request.Method);
                invocation.SetTag("http.response.status_code", statusCode);
                if (statusCode >= StatusCodes.Status500InternalServerError)
                {
                    invocation.SetStatus(ActivityStatusCode.Error);
                }
            }
        }
    }

    private static readonly FrozenDictionary<string, ApiOperation> OperationsByName =
        ApiOperations.All.ToFrozenDictionary(operation => operation.Name);

    /// <summary>The status an <see cref="IResult"/> will write (through the typed <c>Results&lt;...&gt;</c> wrappers).</summary>
    private static int? StatusOf(object? result) => result switch
    {
        IStatusCodeHttpResult { StatusCode: { } status } => status,
        INestedHttpResult nested => StatusOf(nested.Result),
        _ => null,
    };

    /// <summary>The route template as ASP.NET Core's routing reports it on the dev server.</summary>
    public static string RouteOf(ApiOperation operation) => "/" + ApiOperations.RoutePrefix + "/" + operation.Route;

    /// <summary>
    /// A database operation failed transiently: it runs again after <paramref name="delay"/>, or, when the retry budget or count
    /// leaves no room (null), the request gives up and answers 503. Returns <paramref name="delay"/>.
    /// </summary>
    internal static TimeSpan? Retrying(DbContext context, Exception failure, int retry, TimeSpan? delay)
    {
        var errorType = failure.GetType().FullName ?? failure.GetType().Name;
        if (delay is { } wait)
        {
            ApplicationServices(context)?.GetService<ApiMetrics>()?.Retry(errorType);
        }

        Activity.Current?.AddEvent(new ActivityEvent(
            delay is null ? "userfunctions.db.retries_exhausted" : "userfunctions.db.retry",
            tags: new ActivityTagsCollection
            {
                ["error.type"] = errorType,
                ["userfunctions.retry.number"] = retry,
                ["userfunctions.retry.delay_ms"] = delay?.TotalMilliseconds,
            }));
        return delay;
    }

    private static IServiceProvider? ApplicationServices(DbContext context) =>
        context.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.ApplicationServiceProvider;

    /// <summary>A write attempt failed after it began, and the API asked the database whether it landed.</summary>
    internal static T? WriteVerified<T>(T? committed)
        where T : struct
    {
        Activity.Current?.AddEvent(new ActivityEvent("userfunctions.write.verified", tags: new ActivityTagsCollection
        {
            ["userfunctions.write.landed"] = committed.HasValue,
        }));
        return committed;
    }

    /// <summary>A write answered from the stored response of its <c>Idempotency-Key</c>, without running again.</summary>
    internal static void IdempotentReplay(HttpContext context)
    {
        context.Items[ReplayedItem] = true;
        context.RequestServices.GetService<ApiMetrics>()?.IdempotentReplay();
        Activity.Current?.AddEvent(new ActivityEvent("userfunctions.idempotent.replay"));
        Activity.Current?.SetTag("userfunctions.idempotent.replay", true);
    }

    /// <summary>The request answers 503 because of <paramref name="cause"/>.</summary>
    internal static void Unavailable(HttpContext context, string cause)
    {
        context.RequestServices.GetService<ApiMetrics>()?.Unavailable(cause);
        Activity.Current?.AddEvent(new ActivityEvent("userfunctions.unavailable", tags: new ActivityTagsCollection { [CauseTag] = cause }));
        Activity.Current?.SetTag(CauseTag, cause);
    }

    private static void Name(Activity? activity, string method, string route, string operation)
    {
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.DisplayName = method + " " + route;
        activity.SetTag("http.route", route);
        activity.SetTag(OperationTag, operation);
    }
}
