using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using UserFunctions.Core.Http;
using UserFunctions.Core.Telemetry;

namespace UserFunctions;

/// <summary>
/// Ties each HTTP invocation to its request: when the host cancels the invocation (the client went away, a timeout, a
/// shutdown) the request is aborted, so the handler's database work stops; and a failure becomes the API's problem
/// response, exactly as on the dev server.
/// </summary>
internal sealed class HttpInvocationMiddleware(ApiExceptionHandler exceptionHandler) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var http = context.GetHttpContext();
        await using var abortOnCancel = http is null ? default : context.CancellationToken.Register(Abort, http);
        try
        {
            await next(context);
        }
        catch (Exception exception) when (http is not null && ApiExceptionHandler.Handles(http))
        {
            // The ASP.NET Core integration writes the invocation's result to the response after this middleware returns.
            context.GetInvocationResult().Value = exceptionHandler.ToProblem(exception, http);
        }

        ApiTelemetry.FunctionCompleted(http, context.FunctionDefinition.Name, context.GetInvocationResult().Value);
    }

    // Static, with the request as its state: no closure to allocate on every invocation.
    private static void Abort(object? http) => ((HttpContext)http!).Abort();
}
