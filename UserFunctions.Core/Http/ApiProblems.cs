using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Core.Http;

/// <summary>
/// Every RFC 9457 problem the API returns, and the one place that maps exceptions to them.
/// No problem ever carries an exception's type, message or stack trace.
/// </summary>
internal static partial class ApiProblems
{
    public const int RetryAfterSeconds = 5;

    /// <summary>Why a request answered 503, on its trace and in the <c>userfunctions.http.unavailable</c> counter.</summary>
    public const string DatabaseUnavailableCause = "database_unavailable";

    private static readonly object TraceIdItem = new();

    public static ValidationProblem Validation(Dictionary<string, string[]> errors) => TypedResults.ValidationProblem(errors);

    public static ValidationProblem Validation(string field, string error) => Validation(new() { [field] = [error] });

    public static ProblemHttpResult MalformedBody(string detail, string? jsonPath = null) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status400BadRequest,
        title: "The request body is not valid.",
        extensions: jsonPath is null ? null : new Dictionary<string, object?> { ["path"] = jsonPath });

    public static ProblemHttpResult UnsupportedMediaType(bool allowMergePatch) => TypedResults.Problem(
        allowMergePatch
            ? "Send the body as application/merge-patch+json or application/json (UTF-8)."
            : "Send the body as application/json (UTF-8).",
        statusCode: StatusCodes.Status415UnsupportedMediaType,
        title: "Unsupported content type.");

    public static ProblemHttpResult PayloadTooLarge() => TypedResults.Problem(
        $"The request body must be at most {JsonBody.MaxBytes} bytes.",
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request body is too large.");

    public static ProblemHttpResult UserNotFound() => TypedResults.Problem(
        "No user has this id.", statusCode: StatusCodes.Status404NotFound, title: "User not found.");

    public static ProblemHttpResult PreconditionFailed() => TypedResults.Problem(
        "The user has changed since the ETag in If-Match was issued. GET it again and retry with the new ETag.",
        statusCode: StatusCodes.Status412PreconditionFailed,
        title: "The user has changed.");

    public static ProblemHttpResult Conflict(string? field)
    {
        var (title, error) = field switch
        {
            "username" => ("The username is already taken.", "Another user already has this username (compared case-insensitively)."),
            "email" => ("The email is already taken.", "Another user already has this email (compared case-insensitively)."),
            _ => ("The user conflicts with an existing user.", null),
        };

        return TypedResults.Problem(
            error ?? "Another user already has this username or email.",
            statusCode: StatusCodes.Status409Conflict,
            title: title,
            extensions: field is null || error is null
                ? null
                : new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [error] } });
    }

    public static ProblemHttpResult IdempotencyKeyMalformed() => TypedResults.Problem(
        $"Send {IdempotencyKeyHeader.Name} as a quoted string (\"8e03978e-40d5-43e8-bc93-6894a57f9324\") or a bare token: 1 to "
            + $"{IdempotencyKey.KeyMaxLength} visible ASCII characters, once.",
        statusCode: StatusCodes.Status400BadRequest,
        title: $"The {IdempotencyKeyHeader.Name} header is not valid.",
        extensions: new Dictionary<string, object?> { ["header"] = IdempotencyKeyHeader.Name });

    public static ProblemHttpResult IdempotencyKeyReused() => TypedResults.Problem(
        $"This {IdempotencyKeyHeader.Name} was first used with a different request. Use a new key for a new request.",
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: $"The {IdempotencyKeyHeader.Name} belongs to another request.");

    public static ProblemHttpResult IdempotencyKeyInProgress(HttpResponse response) => WithRetryAfter(response, TypedResults.Problem(
        $"The first request with this {IdempotencyKeyHeader.Name} is still running. Retry after the number of seconds in Retry-After.",
        statusCode: StatusCodes.Status409Conflict,
        title: $"A request with this {IdempotencyKeyHeader.Name} is in progress."));

    public static ProblemHttpResult ServiceUnavailable(HttpResponse response, string detail, string title = "Service unavailable.") =>
        WithRetryAfter(response, TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: title));

    /// <summary>Maps a failure of a request's database work to its problem response, logging what the caller is not told.</summary>
    public static ProblemHttpResult ForException(Exception exception, HttpContext context, ILogger logger)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            // The request could not be read to its end (a body cut short, say): the client's error, not the server's.
            return badRequest.StatusCode == StatusCodes.Status400BadRequest
                ? MalformedBody("The request body could not be read to its end.")
                : TypedResults.Problem(statusCode: badRequest.StatusCode, title: "The request could not be read.");
        }

        var failure = DatabaseErrors.Classify(exception);
        switch (failure.Kind)
        {
            case DatabaseFailureKind.UniqueViolation:
                LogConflict(logger, failure.Field ?? "unknown");
                return Conflict(failure.Field);

            case DatabaseFailureKind.Concurrency:
                return PreconditionFailed();

            case DatabaseFailureKind.Transient:
                LogUnavailable(logger, TraceIdOf(context), exception);
                ApiTelemetry.Unavailable(context, DatabaseUnavailableCause);
                return ServiceUnavailable(context.Response, "The database is unavailable right now. Retry after the number of seconds in Retry-After.");

            default:
                var traceId = TraceIdOf(context);
                LogUnexpected(logger, traceId, exception);
                return TypedResults.Problem(
                    "An unexpected error occurred. Quote the traceId when you report it.",
                    statusCode: StatusCodes.Status500InternalServerError,
                    title: "Internal server error.",
                    extensions: new Dictionary<string, object?> { ["traceId"] = traceId });
        }
    }

    /// <summary>
    /// True while the client still waits for an answer. Once it has gone (or the Functions host cancelled the invocation)
    /// nobody reads a problem, and its cut-off request is not a server error to log: the host deals with it.
    /// </summary>
    public static bool IsMappable(HttpContext context) => !context.RequestAborted.IsCancellationRequested;

    /// <summary>
    /// The W3C trace id of the request (32 hex digits), in one format on every host: the current activity's, else the
    /// caller's <c>traceparent</c>, else a new one kept for the rest of the request.
    /// </summary>
    public static string TraceIdOf(HttpContext context)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            return activity.TraceId.ToHexString();
        }

        if (context.Items[TraceIdItem] is string known)
        {
            return known;
        }

        var traceId = ActivityContext.TryParse(context.Request.Headers.TraceParent, null, out var parent)
            ? parent.TraceId.ToHexString()
            : ActivityTraceId.CreateRandom().ToHexString();
        context.Items[TraceIdItem] = traceId;
        return traceId;
    }

    private static ProblemHttpResult WithRetryAfter(HttpResponse response, ProblemHttpResult problem)
    {
        response.Headers.RetryAfter = RetryAfterSecondsText;
        return problem;
    }

    private static readonly string RetryAfterSecondsText = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected a write: the {Field} is already taken")]
    private static partial void LogConflict(ILogger logger, string field);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable; answered 503 (traceId {TraceId})")]
    private static partial void LogUnavailable(ILogger logger, string traceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure; answered 500 (traceId {TraceId})")]
    private static partial void LogUnexpected(ILogger logger, string traceId, Exception exception);
}
