using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using UserFunctions.DevServer;
using UserFunctions.TestHost;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Auth;

/// <summary>
/// Entra ID mode with settings that cannot work refuses to start, on both hosts, naming the setting; an authority that
/// cannot be reached is not needed to start, and while it cannot be reached no token is accepted.
/// </summary>
public sealed class AuthStartupTests
{
    public static TheoryData<string?, string?, string?, string> BadSettings => new()
    {
        // Plain HTTP metadata could be tampered with on the way: refused unless Auth:RequireHttpsMetadata=false says otherwise.
        { "http://login.example.test/tenant/v2.0", TestAuthority.Audience, null, "Auth:Authority must use HTTPS" },
        { "http://login.example.test/tenant/v2.0", TestAuthority.Audience, "true", "Auth:Authority must use HTTPS" },
        { null, TestAuthority.Audience, null, "Auth:Authority must be the absolute URL" },
        { "login.microsoftonline.com/tenant/v2.0", TestAuthority.Audience, null, "Auth:Authority must be the absolute URL" },
        { "https://login.microsoftonline.com/tenant/v2.0", null, null, "Auth:Audience must be set" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task TheDevServerRefusesToStart(string? authority, string? audience, string? requireHttpsMetadata, string message)
    {
        await using var database = new SqliteTestDatabase(pooling: true);
        var settings = await SettingsAsync(database, authority, audience, requireHttpsMetadata);
        await using var app = DevServerApp.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(settings);
        });

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheFunctionsAppRefusesAnHttpAuthorityByDefault()
    {
        await using var database = new SqliteTestDatabase(pooling: false);
        var settings = await SettingsAsync(database, "http://127.0.0.1:9/tenant/v2.0", TestAuthority.Audience, requireHttpsMetadata: null);
        using var loggerFactory = ApiHost.LoggerInto(new FakeLogCollector());

        var failure = await Assert.ThrowsAsync<WorkerFailedException>(() => ApiHost.StartFunctionsAsync(settings, ApiHost.FunctionKey, loggerFactory));

        Assert.Contains("Auth:Authority must use HTTPS", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDevServerStartsInEntraIdModeWithAnHttpsAuthorityWithoutReachingIt()
    {
        await using var database = new SqliteTestDatabase(pooling: true);
        var settings = await SettingsAsync(database, "https://login.example.test/tenant/v2.0", TestAuthority.Audience, requireHttpsMetadata: null);
        await using var app = DevServerApp.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(settings);
        });

        await app.StartAsync();
        using var client = app.GetTestClient();
        using var health = await client.GetAsync("/api/health");
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        using var users = await client.GetAsync("/api/users");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, users.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task WhileTheAuthorityIsUnreachableATokenIsRefusedAndNothingLeaks()
    {
        await using var database = new SqliteTestDatabase(pooling: true);
        await using var authority = new TestAuthority();
        await authority.StartAsync();
        var settings = await SettingsAsync(database, authority.Authority, TestAuthority.Audience, requireHttpsMetadata: "false");
        var token = authority.Token([Core.Auth.ApiRoles.ReadWrite]);
        await authority.DisposeAsync();
        await using var app = DevServerApp.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(settings);
        });
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);

        // Fails closed: a token that cannot be checked is not accepted.
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("IDX", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
    }

    private static async Task<Dictionary<string, string?>> SettingsAsync(TestDatabase database, string? authority, string? audience, string? requireHttpsMetadata)
    {
        var settings = new Dictionary<string, string?>(await database.CreateAsync()) { ["Auth:Mode"] = "EntraId" };
        Set("Auth:Authority", authority);
        Set("Auth:Audience", audience);
        Set("Auth:RequireHttpsMetadata", requireHttpsMetadata);
        return settings;

        void Set(string key, string? value)
        {
            if (value is not null)
            {
                settings[key] = value;
            }
        }
    }
}
