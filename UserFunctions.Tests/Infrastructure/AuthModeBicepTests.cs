using System.Text.Json.Nodes;

namespace UserFunctions.Tests.Infrastructure;

/// <summary>
/// The deployment's Entra ID mode (docs/auth.md): function keys alone by default; with <c>authMode=EntraId</c> the app
/// settings name the mode, the token issuer and the audience the app validates against (the app reads the last two only
/// in that mode).
/// </summary>
public sealed class AuthModeBicepTests
{
    private const string Audience = "3f8d6c2a-5b1e-4f7a-9c3d-2e4b6a8f0c1d";

    [Fact]
    public void FunctionKeysIsTheDefaultAndTheOnlyOtherModeIsEntraId()
    {
        var parameter = CompiledBicep.MainTemplate.Template["parameters"]!["authMode"]!;

        Assert.Equal("FunctionKeys", (string?)parameter["defaultValue"]);
        Assert.Equal(["FunctionKeys", "EntraId"], parameter["allowedValues"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public void InFunctionKeyModeTheAppSettingSaysSo()
    {
        var settings = AppSettings(new() { ["authAudience"] = Audience });

        Assert.Equal("FunctionKeys", settings["Auth__Mode"]);
        Assert.Equal("AzureSql", settings["Database__Provider"]);
    }

    [Fact]
    public void InEntraIdModeTheAppSettingsNameTheModeTheAuthorityAndTheAudience()
    {
        const string authority = "https://login.microsoftonline.com/7c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/v2.0";

        var settings = AppSettings(new() { ["authMode"] = "EntraId", ["authAuthority"] = authority, ["authAudience"] = Audience });

        Assert.Equal("EntraId", settings["Auth__Mode"]);
        Assert.Equal(authority, settings["Auth__Authority"]);
        Assert.Equal(Audience, settings["Auth__Audience"]);
        // HTTPS metadata is the app's default; a deployment never turns it off.
        Assert.DoesNotContain("Auth__RequireHttpsMetadata", settings.Keys);
    }

    [Fact]
    public void WithoutAnAuthorityTheAppTrustsItsOwnTenantsV2Issuer()
    {
        var api = CompiledBicep.MainTemplate.OfType("Microsoft.Resources/deployments").Single(r => (string?)r["name"] == "api");
        var authority = api["properties"]!["parameters"]!["authAuthority"]!.ToJsonString();

        Assert.Contains("environment().authentication.loginEndpoint", authority, StringComparison.Ordinal);
        Assert.Contains("tenant().tenantId", authority, StringComparison.Ordinal);
        Assert.Contains("/v2.0", authority, StringComparison.Ordinal);
    }

    [Fact]
    public void TheParametersFileTakesTheModeAndTheAudienceFromTheAzdEnvironmentTheHookFills()
    {
        var parameters = JsonNode.Parse(File.ReadAllText(RepositoryRoot.Combine("infra", "main.parameters.json")))!["parameters"]!;
        var hook = File.ReadAllText(RepositoryRoot.Combine("deploy", "azd-app-registration.sh"));

        Assert.Equal("${AUTH_MODE=FunctionKeys}", (string?)parameters["authMode"]!["value"]);
        Assert.Equal("${AUTH_AUDIENCE}", (string?)parameters["authAudience"]!["value"]);
        Assert.Contains("azd env set AUTH_AUDIENCE", hook, StringComparison.Ordinal);
        Assert.Contains("deploy/azd-app-registration.sh", File.ReadAllText(RepositoryRoot.Combine("azure.yaml")), StringComparison.Ordinal);
    }

    private static Dictionary<string, string> AppSettings(Dictionary<string, object?> parameters)
    {
        parameters["databaseEngine"] = "AzureSql";
        var api = ArmEvaluator.For(CompiledBicep.MainTemplate.Template, parameters).Module("api");
        var site = api.Resources().Single(r => (string?)r["type"] == "Microsoft.Web/sites");
        var properties = Assert.IsType<Dictionary<string, object?>>(api.Evaluate(site["properties"]));
        var siteConfig = Assert.IsType<Dictionary<string, object?>>(properties["siteConfig"]);
        return Assert.IsType<List<object?>>(siteConfig["appSettings"])
            .Select(s => Assert.IsType<Dictionary<string, object?>>(s))
            .ToDictionary(s => (string)s["name"]!, s => s["value"] as string ?? "<not a string>");
    }
}
