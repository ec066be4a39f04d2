using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Configuration;
using UserFunctions.Core.Health;
using UserFunctions.Core.Telemetry;

namespace UserFunctions;

/// <summary>
/// Drops the worker's invocation span of the health function (see <see cref="HealthTracing"/>). The worker starts that
/// span before any middleware runs, so it is current here; the worker records no ASP.NET Core span (the host's request
/// span and this one cover the request).
/// </summary>
internal sealed class UntracedHealthMiddleware : IFunctionsWorkerMiddleware
{
    /// <summary>The worker's <c>ActivitySource</c>, which <c>UseFunctionsWorkerDefaults</c> subscribes to.</summary>
    private const string WorkerSourceName = "Microsoft.Azure.Functions.Worker";

    /// <summary>Registered only when <c>Telemetry:TraceHealth</c> is not true.</summary>
    public static bool IsNeeded(IConfiguration configuration) => !HealthTracing.Enabled(configuration);

    /// <summary>The middleware's condition (<c>UseWhen</c>): every other function skips it.</summary>
    public static bool IsHealthCheck(FunctionContext context) => context.FunctionDefinition.Name == HealthApi.OperationName;

    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (Activity.Current is { Source.Name: WorkerSourceName } invocation)
        {
            HealthTracing.Untrace(invocation);
        }

        return next(context);
    }
}
