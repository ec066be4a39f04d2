using UserFunctions.Core;
using UserFunctions.Core.Auth;
using UserFunctions.Core.Telemetry;
using UserFunctions.DevServer.OpenApi;

namespace UserFunctions.DevServer;

/// <summary>
/// The API on plain ASP.NET Core, without the Functions runtime: same handlers, same routes under <c>/api</c>, same settings.
/// Used for HTTP tests, load benchmarks, and by anyone without Core Tools.
/// </summary>
public static class DevServerApp
{
    /// <param name="configure">Lets tests swap the server or settings before the API reads its configuration.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        if (IsGeneratingTheDocument)
        {
            // The build starts the app only to read its endpoints: no database is touched.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Database:MigrateOnStartup"] = "false" });
        }

        builder.Services.AddUsersApi(builder.Configuration);
        builder.Services.AddApiTelemetry(builder.Configuration);
        // Only generates the OpenAPI document (at build time and in tests); the API serves the checked-in copy.
        builder.Services.AddUsersApiDocument();

        var app = builder.Build();
        // Requests that reach no handler (unknown route, wrong method) and unhandled failures get problem bodies too.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiTelemetry();
        app.UseApiAuthorization();
        app.MapUsersApi();
        return app;
    }

    // The build-time OpenAPI generator (Microsoft.Extensions.ApiDescription.Server) runs the app under this entry assembly.
    private static bool IsGeneratingTheDocument =>
        System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == "GetDocument.Insider";
}
