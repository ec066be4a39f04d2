using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using UserFunctions.Core.Http;

namespace UserFunctions;

/// <summary>A function's failure becomes the API's problem response, exactly as on the dev server.</summary>
internal sealed class ApiProblemsMiddleware : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (context.GetHttpContext() is { } http && ApiExceptionHandler.Handles(exception, http))
        {
            // The ASP.NET Core integration writes the invocation's result to the response after this middleware returns.
            context.GetInvocationResult().Value = ApiExceptionHandler.ToProblem(exception, http);
        }
    }
}
