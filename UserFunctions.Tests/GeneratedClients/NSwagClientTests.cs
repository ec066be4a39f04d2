using UserFunctions.Tests.Api;
using UserFunctions.Tests.Infrastructure;

namespace UserFunctions.Tests.GeneratedClients;

/// <summary>
/// What a consumer does: generate a C# client with NSwag (pinned in .config/dotnet-tools.json) from the document the
/// Functions app serves, compile it unedited, and call the app through it. The round trip and what it checks are in
/// UserFunctions.Tests.GeneratedClients/NSwag/RoundTrip.cs; docs/api.md ("Generated clients") shows the same command.
/// </summary>
public sealed class NSwagClientTests(FunctionsOnSqlite host) : IClassFixture<FunctionsOnSqlite>
{
    /// <summary>The generator's options, as docs/api.md gives them.</summary>
    public static readonly string[] GeneratorOptions =
    [
        "/Namespace:UsersApi", "/ClassName:UsersApiClient",
        "/WrapResponses:true", "/GenerateNullableReferenceTypes:true", "/GenerateOptionalParameters:true",
    ];

    private static readonly string DriverProject = RepositoryRoot.Combine(
        "UserFunctions.Tests.GeneratedClients", "NSwag", "UserFunctions.Tests.GeneratedClients.NSwag.csproj");

    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AClientGeneratedFromTheServedDocumentDoesTheWholeRoundTrip()
    {
        await host.Database.EmptyAsync();
        var work = Directory.CreateTempSubdirectory("nswag-client-");
        try
        {
            var document = new Uri(host.Functions!.BaseAddress, "api/openapi.json");
            var client = Path.Combine(work.FullName, "UsersApiClient.cs");
            var output = Path.Combine(work.FullName, "bin");

            await DotnetCli.RunAsync(StepTimeout, "tool", "restore");
            await DotnetCli.RunAsync(StepTimeout, ["nswag", "openapi2csclient", $"/Input:{document}", $"/Output:{client}", .. GeneratorOptions]);
            // No build servers: they would outlive the build holding its output pipes open.
            await DotnetCli.RunAsync(StepTimeout, "build", DriverProject, $"-p:GeneratedClient={client}", "-o", output, "--disable-build-servers", "-nodeReuse:false");
            var roundTrip = await DotnetCli.RunAsync(StepTimeout, Path.Combine(output, "UserFunctions.Tests.GeneratedClients.NSwag.dll"), ApiHost.FunctionKey);

            Assert.Contains($"Base URL from the document: {host.Functions.BaseAddress}api", roundTrip, StringComparison.Ordinal);
            Assert.Contains("Round trip complete.", roundTrip, StringComparison.Ordinal);
            // Five created, one deleted; the replayed create, the 409 and the 400s wrote nothing.
            Assert.Equal(4, await host.CountUsersAsync());
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
