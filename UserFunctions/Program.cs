using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserFunctions;
using UserFunctions.Core;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<HttpInvocationMiddleware>();
builder.UseMiddleware<ApiAuthorizationMiddleware>();

// Only where the telemetry has somewhere to go (Azure sets APPLICATIONINSIGHTS_CONNECTION_STRING): without one the SDK
// would only cost start-up time and memory.
if (!string.IsNullOrWhiteSpace(builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
{
    builder.Services
        .AddApplicationInsightsTelemetryWorkerService()
        .ConfigureFunctionsApplicationInsights();
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
