using System.Diagnostics;
using System.Text.Json.Nodes;

namespace UserFunctions.Tests.Infrastructure;

/// <summary>
/// deploy/azd-app-registration.sh against stand-ins for az and azd (FakeCli/) that keep one app registration: what it
/// asks Entra ID for, that it does nothing in function-key mode, and that a second run changes no id.
/// </summary>
public sealed class AppRegistrationScriptTests : IDisposable
{
    private const string AzureCliAppId = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

    private readonly string _state = Directory.CreateTempSubdirectory("app-registration-").FullName;

    [Fact]
    public async Task InFunctionKeyModeItCallsNothing()
    {
        var (exitCode, output) = await RunAsync(new() { ["AUTH_MODE"] = "FunctionKeys" });

        Assert.True(exitCode == 0, output);
        Assert.False(File.Exists(Path.Combine(_state, "calls")), "The script called az in function-key mode.");
        Assert.False(File.Exists(Path.Combine(_state, "azd-env")));
    }

    [Fact]
    public async Task InEntraIdModeItCreatesTheRegistrationWithTheRolesV2TokensAndTheAudience()
    {
        var (exitCode, output) = await RunAsync(EntraId);

        Assert.True(exitCode == 0, output);
        var appId = File.ReadAllText(Path.Combine(_state, "app-id")).Trim();
        var registration = Patch(1);
        Assert.Equal([$"api://{appId}"], registration["identifierUris"]!.AsArray().Select(u => (string?)u));
        Assert.Equal(2, (int)registration["api"]!["requestedAccessTokenVersion"]!);
        var roles = registration["appRoles"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(["Users.Read", "Users.ReadWrite"], roles.Select(r => (string?)r["value"]));
        Assert.All(roles, role =>
        {
            Assert.Equal(["User", "Application"], role["allowedMemberTypes"]!.AsArray().Select(t => (string?)t));
            Assert.True((bool)role["isEnabled"]!);
            Assert.True(Guid.TryParse((string?)role["id"], out _));
        });

        // The Azure CLI is pre-authorized for the scope the first request created.
        var scopeId = (string?)registration["api"]!["oauth2PermissionScopes"]![0]!["id"];
        var preAuthorized = Patch(2)["api"]!["preAuthorizedApplications"]!.AsArray().Single()!;
        Assert.Equal(AzureCliAppId, (string?)preAuthorized["appId"]);
        Assert.Equal([scopeId], preAuthorized["delegatedPermissionIds"]!.AsArray().Select(i => (string?)i));

        var calls = File.ReadAllLines(Path.Combine(_state, "calls"));
        Assert.Contains(calls, call => call.StartsWith("ad sp create", StringComparison.Ordinal));
        Assert.Contains(calls, call => call.StartsWith("ad sp update", StringComparison.Ordinal) && call.Contains("appRoleAssignmentRequired=true", StringComparison.Ordinal));
        Assert.Equal([$"AUTH_AUDIENCE={appId}"], File.ReadAllLines(Path.Combine(_state, "azd-env")));
    }

    [Fact]
    public async Task ASecondRunFindsTheRegistrationByNameAndKeepsEveryId()
    {
        Assert.Equal(0, (await RunAsync(EntraId)).ExitCode);
        var first = Ids(Patch(1));
        File.Delete(Path.Combine(_state, "calls"));

        var (exitCode, output) = await RunAsync(EntraId);

        Assert.True(exitCode == 0, output);
        Assert.Equal(first, Ids(Patch(3)));
        var calls = File.ReadAllLines(Path.Combine(_state, "calls"));
        Assert.DoesNotContain(calls, call => call.StartsWith("ad app create", StringComparison.Ordinal) || call.StartsWith("ad sp create", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_state, recursive: true);

    private static Dictionary<string, string> EntraId => new() { ["AUTH_MODE"] = "EntraId", ["AZURE_ENV_NAME"] = "test" };

    private JsonObject Patch(int number) => JsonNode.Parse(File.ReadAllText(Path.Combine(_state, $"patch-{number}.json")))!.AsObject();

    private static string[] Ids(JsonObject registration) =>
        [
            .. registration["appRoles"]!.AsArray().Select(r => (string)r!["id"]!),
            .. registration["api"]!["oauth2PermissionScopes"]!.AsArray().Select(s => (string)s!["id"]!),
        ];

    private async Task<(int ExitCode, string Output)> RunAsync(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", [RepositoryRoot.Combine("deploy", "azd-app-registration.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = RepositoryRoot.Combine("UserFunctions.Tests", "Infrastructure", "FakeCli") + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["FAKE_STATE"] = _state;
        start.Environment.Remove("AUTH_AUDIENCE");
        start.Environment.Remove("AUTH_APP_NAME");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
