using Microsoft.Extensions.Logging;
using UserFunctions.TestHost;

const string Usage = "usage: dotnet UserFunctions.TestHost.dll --app <built Functions app folder> --urls http://127.0.0.1:<port> (--function-key <key> | --no-auth)";

string? app = null, urls = null, key = null;
var noAuth = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--app" when i + 1 < args.Length: app = args[++i]; break;
        case "--urls" when i + 1 < args.Length: urls = args[++i]; break;
        case "--function-key" when i + 1 < args.Length: key = args[++i]; break;
        case "--no-auth": noAuth = true; break;
        default:
            Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}'.\n{Usage}");
            return 2;
    }
}

if (app is null || urls is null || (key is null) == !noAuth)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(console => console.SingleLine = true)
    .AddFilter("UserFunctions.TestHost.Worker", LogLevel.Information));

await using var host = await StartOrReportAsync();
if (host is null)
{
    return 1;
}

Console.WriteLine($"Serving {host.Functions.Count} HTTP functions of {Path.GetFullPath(app)} at {host.BaseAddress} ({(noAuth ? "no keys" : "function keys required")}). Ctrl+C stops.");
foreach (var function in host.Functions)
{
    var prefix = host.RoutePrefix.Length == 0 ? "" : host.RoutePrefix + "/";
    Console.WriteLine($"  {function.Name}: [{string.Join(",", function.Methods)}] {host.BaseAddress}{prefix}{function.Route} ({function.AuthLevel})");
}

var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});

// A worker that dies takes the host with it, with a failing exit code for scripts.
return await Task.WhenAny(stop.Task, host.WorkerExited) == stop.Task ? 0 : 1;

async Task<FunctionsTestHost?> StartOrReportAsync()
{
    try
    {
        return await FunctionsTestHost.StartAsync(new FunctionsTestHostOptions
        {
            AppDirectory = app,
            Urls = urls,
            FunctionKey = key,
            LoggerFactory = loggerFactory,
        });
    }
    catch (WorkerFailedException exception)
    {
        Console.Error.WriteLine($"The Functions app did not start: {exception.Message}");
        return null;
    }
}
