using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserFunctions;
using UserFunctions.Core;
using UserFunctions.Core.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<HttpInvocationMiddleware>();
if (ApiAuthorizationMiddleware.IsNeeded(builder.Configuration))
{
    builder.UseMiddleware<ApiAuthorizationMiddleware>();
}

// OpenTelemetry only when an exporter is configured (UserFunctions.Core/Telemetry); the worker's invocation spans join the
// host's trace.
builder.Services.AddApiTelemetry(builder.Configuration, telemetry => telemetry.UseFunctionsWorkerDefaults(), serverSpans: false);
if (UntracedHealthMiddleware.IsNeeded(builder.Configuration))
{
    builder.UseWhen<UntracedHealthMiddleware>(UntracedHealthMiddleware.IsHealthCheck);
}

// The worker sends every log to the host as a gRPC message, and the per-request information logs (routing, each SQL
// command, the API's "Created user 7") would cost more than the request; the host records each invocation itself.
// Warnings and errors still travel. Logging__RequestLogs=true brings the information logs back.
if (!builder.Configuration.GetValue("Logging:RequestLogs", defaultValue: false))
{
    builder.Logging
        .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
        .AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning)
        .AddFilter("UserFunctions", LogLevel.Warning);
}

builder.Services.AddUsersApi(builder.Configuration);

builder.Build().Run();
