using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace UserFunctions.Core.Http;

/// <summary>
/// Writes a problem as <c>application/problem+json</c> when the request's <c>Accept</c> header names neither JSON type.
/// ASP.NET Core's own writer declines those requests, and then a result writes its problem without the <c>traceId</c>
/// (or, in the Functions worker, MVC's writer writes nothing), and the dev server's status code pages answer in plain
/// text. Registered after that writer, so it is asked only when that one declined.
/// </summary>
internal sealed class AnyAcceptProblemWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<JsonOptions> jsonOptions) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var response = context.HttpContext.Response;
        problem.Status ??= response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        var typeInfo = jsonOptions.Value.SerializerOptions.GetTypeInfo(problem.GetType());
        return new ValueTask(response.WriteAsJsonAsync(problem, typeInfo, "application/problem+json", context.HttpContext.RequestAborted));
    }
}
