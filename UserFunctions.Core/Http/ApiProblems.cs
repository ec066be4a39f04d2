using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;

namespace UserFunctions.Core.Http;

/// <summary>
/// Every RFC 9457 problem the API returns, and the one place that maps exceptions to them.
/// No problem ever carries an exception's type, message or stack trace.
/// </summary>
internal static partial class ApiProblems
{
    public const int RetryAfterSeconds = 5;

    public static IResult Validation(Dictionary<string, string[]> errors) => TypedResults.ValidationProblem(errors);

    public static IResult Validation(string field, string error) => Validation(new() { [field] = [error] });

    public static IResult MalformedBody(string detail, string? jsonPath = null) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status400BadRequest,
        title: "The request body is not valid.",
        extensions: jsonPath is null ? null : new Dictionary<string, object?> { ["path"] = jsonPath });

    public static IResult UnsupportedMediaType(bool allowMergePatch) => TypedResults.Problem(
        allowMergePatch
            ? "Send the body as application/merge-patch+json or application/json (UTF-8)."
            : "Send the body as application/json (UTF-8).",
        statusCode: StatusCodes.Status415UnsupportedMediaType,
        title: "Unsupported content type.");

    public static IResult PayloadTooLarge() => TypedResults.Problem(
        $"The request body must be at most {JsonBody.MaxBytes} bytes.",
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request body is too large.");

    public static IResult UserNotFound() => TypedResults.Problem(
        "No user has this id.", statusCode: StatusCodes.Status404NotFound, title: "User not found.");

    public static IResult PreconditionFailed() => TypedResults.Problem(
        "The user has changed since the ETag in If-Match was issued. GET it again and retry with the new ETag.",
        statusCode: StatusCodes.Status412PreconditionFailed,
        title: "The user has changed.");

    public static IResult Conflict(string? field)
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

    public static IResult IdempotencyKeyMalformed() => TypedResults.Problem(
        $"Send {Idempotency.HeaderName} as a quoted string (\"8e03978e-40d5-43e8-bc93-6894a57f9324\") or a bare token: 1 to "
            + $"{Http.IdempotencyKey.KeyMaxLength} visible ASCII characters, once.",
        statusCode: StatusCodes.Status400BadRequest,
        title: $"The {Idempotency.HeaderName} header is not valid.",
        extensions: new Dictionary<string, object?> { ["header"] = Idempotency.HeaderName });

    public static IResult IdempotencyKeyReused() => TypedResults.Problem(
        $"This {Idempotency.HeaderName} was first used with a different request. Use a new key for a new request.",
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: $"The {Idempotency.HeaderName} belongs to another request.");

    public static IResult IdempotencyKeyInProgress() => new RetryAfterResult(TypedResults.Problem(
        $"The first request with this {Idempotency.HeaderName} is still running. Retry after the number of seconds in Retry-After.",
        statusCode: StatusCodes.Status409Conflict,
        title: $"A request with this {Idempotency.HeaderName} is in progress."));

    public static IResult ServiceUnavailable(string detail, string title = "Service unavailable.") =>
        new RetryAfterResult(TypedResults.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: title));

    /// <summary>Maps a failure of a request's database work to its problem response, logging what the caller is not told.</summary>
    public static IResult ForException(Exception exception, HttpContext context)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            // The request could not be read to its end (a body cut short, say): the client's error, not the server's.
            return badRequest.StatusCode == StatusCodes.Status400BadRequest
                ? MalformedBody("The request body could not be read to its end.")
                : TypedResults.Problem(statusCode: badRequest.StatusCode, title: "The request could not be read.");
        }

        var logger = Logger(context);
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
                return ServiceUnavailable("The database is unavailable right now. Retry after the number of seconds in Retry-After.");

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

    // The same identifier ASP.NET Core's problem details writer puts in "traceId".
    public static string TraceIdOf(HttpContext context) => Activity.Current?.Id ?? context.TraceIdentifier;

    public static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("UserFunctions.Api");

    private sealed class RetryAfterResult(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return problem.ExecuteAsync(httpContext);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected a write: the {Field} is already taken")]
    private static partial void LogConflict(ILogger logger, string field);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable; answered 503 (traceId {TraceId})")]
    private static partial void LogUnavailable(ILogger logger, string traceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure; answered 500 (traceId {TraceId})")]
    private static partial void LogUnexpected(ILogger logger, string traceId, Exception exception);
}
