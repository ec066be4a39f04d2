using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Configuration;
using UserFunctions.Core;
using UserFunctions.Core.Auth;

namespace UserFunctions;

/// <summary>
/// Entra ID mode on the Functions app: the worker's ASP.NET Core integration runs no authentication middleware, so this
/// asks Core's <see cref="ApiAuthorization"/> about the invoked function's operation before the function runs, exactly as
/// the dev server's pipeline does. The host has checked the function key already.
/// </summary>
internal sealed class ApiAuthorizationMiddleware(ApiAuthorization authorization) : IFunctionsWorkerMiddleware
{
    private static readonly Dictionary<string, ApiOperation> OperationsByName = ApiOperations.All.ToDictionary(o => o.Name);

    /// <summary>
    /// Only Entra ID mode has anything to check; with function keys the app registers no such middleware, so that no
    /// invocation pays for a lookup that always lets it through.
    /// </summary>
    public static bool IsNeeded(IConfiguration configuration) => AuthOptions.EntraIdSettings(configuration) is not null;

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is { } http
            && OperationsByName.TryGetValue(context.FunctionDefinition.Name, out var operation)
            && await authorization.AuthorizeAsync(http, operation) is { } problem)
        {
            // The ASP.NET Core integration writes the invocation's result to the response; the function never runs.
            context.GetInvocationResult().Value = problem;
            return;
        }

        await next(context);
    }
}
