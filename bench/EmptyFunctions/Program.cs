using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// The hosting of UserFunctions/Program.cs without the API: what any isolated-worker app on these packages costs.
var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();

// The same log policy as UserFunctions/Program.cs: without it ASP.NET Core's ~6 information logs per request would each
// travel to the host as a gRPC message, and the yardstick would measure logging rather than the platform.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

builder.Build().Run();
