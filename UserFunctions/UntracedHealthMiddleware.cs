using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Configuration;
using UserFunctions.Core.Health;
using UserFunctions.Core.Telemetry;

namespace UserFunctions;

/// <summary>
/// Drops the worker's invocation span of the health function unless <c>Telemetry:TraceHealth</c> is true (see
/// <see cref="HealthTracing"/>). The worker starts that span before any middleware runs, so it is current here; the
/// worker's ASP.NET Core span of the probe is dropped by the instrumentation's filter, as on the dev server.
/// </summary>
internal sealed class UntracedHealthMiddleware(IConfiguration configuration) : IFunctionsWorkerMiddleware
{
    /// <summary>The worker's <c>ActivitySource</c>, which <c>UseFunctionsWorkerDefaults</c> subscribes to.</summary>
    private const string WorkerSourceName = "Microsoft.Azure.Functions.Worker";

    private readonly bool _traceHealth = HealthTracing.Enabled(configuration);

    /// <summary>The middleware's condition (<c>UseWhen</c>): every other function skips it.</summary>
    public static bool IsHealthCheck(FunctionContext context) => context.FunctionDefinition.Name == HealthApi.OperationName;

    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (!_traceHealth && Activity.Current is { Source.Name: WorkerSourceName } invocation)
        {
            HealthTracing.Untrace(invocation);
        }

        return next(context);
    }
}
