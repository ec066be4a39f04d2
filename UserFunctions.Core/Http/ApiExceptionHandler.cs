using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace UserFunctions.Core.Http;

/// <summary>
/// The one mapping from a failed request to its problem response (409, 412, 503 with Retry-After, or 500 with a traceId),
/// for every host: ASP.NET Core's exception handler calls it on the dev server, a worker middleware in the Functions app.
/// </summary>
public sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>False for a request the client abandoned: there is nobody to answer, so the host deals with it.</summary>
    public static bool Handles(HttpContext context) => ApiProblems.IsMappable(context);

    public ProblemHttpResult ToProblem(Exception exception, HttpContext context) => ApiProblems.ForException(exception, context, logger);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!Handles(httpContext))
        {
            return false;
        }

        await ToProblem(exception, httpContext).ExecuteAsync(httpContext);
        return true;
    }
}
