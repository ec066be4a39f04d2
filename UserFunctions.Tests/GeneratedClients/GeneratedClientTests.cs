using UserFunctions.Tests.Api;
using UserFunctions.Tests.Infrastructure;

namespace UserFunctions.Tests.GeneratedClients;

/// <summary>
/// What a consumer does: generate a C# client with a mainstream generator (NSwag, Kiota; both pinned in
/// .config/dotnet-tools.json) from the document the Functions app serves, compile it unedited, and call the app through it.
/// Each round trip and what it checks is in UserFunctions.Tests.GeneratedClients/&lt;generator&gt;/RoundTrip.cs; docs/api.md
/// ("Generated clients") gives the same commands.
/// </summary>
[Collection(nameof(GeneratedClientTests))]
public sealed class GeneratedClientTests(FunctionsOnSqlite host) : IClassFixture<FunctionsOnSqlite>, IAsyncLifetime
{
    /// <summary>NSwag's options, as docs/api.md gives them.</summary>
    private static readonly string[] NSwagOptions =
    [
        "/Namespace:UsersApi", "/ClassName:UsersApiClient",
        "/WrapResponses:true", "/GenerateNullableReferenceTypes:true", "/GenerateOptionalParameters:true",
    ];

    // Kiota checks for a newer release online before generating unless told it is offline.
    private static readonly Dictionary<string, string> KiotaOffline = new() { ["KIOTA_OFFLINE_ENABLED"] = "true" };

    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(3);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("generated-client-");

    private Uri Document => new(host.Functions!.BaseAddress, "api/openapi.json");

    public Task InitializeAsync() => host.Database.EmptyAsync();

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AnNSwagClientGeneratedFromTheServedDocumentDoesTheWholeRoundTrip()
    {
        var client = Path.Combine(_work.FullName, "UsersApiClient.cs");
        await DotnetCli.RunAsync(StepTimeout, "tool", "restore");
        await DotnetCli.RunAsync(StepTimeout, ["nswag", "openapi2csclient", $"/Input:{Document}", $"/Output:{client}", .. NSwagOptions]);

        await BuildAndRunRoundTripAsync("NSwag", client);
    }

    [Fact]
    public async Task AKiotaClientGeneratedFromTheServedDocumentDoesTheWholeRoundTrip()
    {
        var client = Path.Combine(_work.FullName, "UsersApiClient");
        await DotnetCli.RunAsync(StepTimeout, "tool", "restore");
        await DotnetCli.RunAsync(StepTimeout, KiotaOffline, "kiota", "generate", "-l", "CSharp", "-d", Document.ToString(), "-o", client, "-c", "UsersApiClient", "-n", "UsersApi");

        await BuildAndRunRoundTripAsync("Kiota", client);
    }

    /// <summary>Builds the generator's driver with the generated client and runs it against the app that served the document.</summary>
    private async Task BuildAndRunRoundTripAsync(string generator, string client)
    {
        var name = $"UserFunctions.Tests.GeneratedClients.{generator}";
        var project = RepositoryRoot.Combine("UserFunctions.Tests.GeneratedClients", generator, $"{name}.csproj");
        var output = Path.Combine(_work.FullName, "bin");
        // No build servers: they would outlive the build holding its output pipes open.
        await DotnetCli.RunAsync(StepTimeout, "build", project, $"-p:GeneratedClient={client}", "-o", output, "--disable-build-servers", "-nodeReuse:false");

        var roundTrip = await DotnetCli.RunAsync(StepTimeout, Path.Combine(output, $"{name}.dll"), ApiHost.FunctionKey);

        Assert.Contains($"Base URL from the document: {host.Functions!.BaseAddress}api", roundTrip, StringComparison.Ordinal);
        Assert.Contains("Round trip complete.", roundTrip, StringComparison.Ordinal);
        // Five created, one deleted; the replayed create, the 409 and the 400s wrote nothing.
        Assert.Equal(4, await host.CountUsersAsync());
    }
}

/// <summary>
/// Runs after the parallel tests, alone: generating and building a client keeps both cores busy for a while, which would
/// disturb the tests that time retry budgets and outages.
/// </summary>
[CollectionDefinition(nameof(GeneratedClientTests), DisableParallelization = true)]
public sealed class GeneratedClientsRunAlone;
