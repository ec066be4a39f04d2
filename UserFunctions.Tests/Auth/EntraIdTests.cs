using System.Net;
using System.Net.Http.Headers;
using UserFunctions.Core.Auth;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Auth;

/// <summary>
/// Entra ID mode on both hosts and databases, against the real JwtBearer validator fed by a loopback authority: who gets
/// 401, 403 and through. The host's client sends the function key on every request, as callers must in Azure.
/// </summary>
public abstract class EntraIdTests(EntraIdApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(EntraIdDevServerOnSqlite host) : EntraIdTests(host), IClassFixture<EntraIdDevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(EntraIdFunctionsOnSqlite host) : EntraIdTests(host), IClassFixture<EntraIdFunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(EntraIdDevServerOnPostgreSql host) : EntraIdTests(host), IClassFixture<EntraIdDevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(EntraIdFunctionsOnPostgreSql host) : EntraIdTests(host), IClassFixture<EntraIdFunctionsOnPostgreSql>;

    private static readonly string[] Reader = [ApiRoles.Read];
    private static readonly string[] Writer = [ApiRoles.ReadWrite];

    private TestAuthority Authority { get; } = host.Authority;

    public static TheoryData<string, string> UsersOperations => new()
    {
        { "GET", "/api/users" },
        { "GET", "/api/users/1" },
        { "POST", "/api/users" },
        { "PUT", "/api/users/1" },
        { "PATCH", "/api/users/1" },
        { "DELETE", "/api/users/1" },
    };

    [Theory]
    [MemberData(nameof(UsersOperations))]
    public async Task WithoutATokenEveryUsersOperationIsA401ThatAsksForABearerToken(string method, string url)
    {
        using var response = await SendAsync(new HttpMethod(method), url, BodyFor(method));

        var problem = await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    public static TheoryData<string> InvalidTokens => new() { "expired", "wrong audience", "wrong issuer", "bad signature", "alg none", "not a JWT" };

    [Theory]
    [MemberData(nameof(InvalidTokens))]
    public async Task AnInvalidTokenIsA401WithInvalidTokenAndNothingIsWritten(string kind)
    {
        var token = kind switch
        {
            "expired" => Authority.Token(Writer, expires: DateTime.UtcNow.AddMinutes(-10)),
            "wrong audience" => Authority.Token(Writer, audience: "api://another-api"),
            "wrong issuer" => Authority.Token(Writer, issuer: "https://login.microsoftonline.com/another-tenant/v2.0"),
            "bad signature" => Authority.Token(Writer, signingKey: Authority.ForgedKey()),
            "alg none" => Authority.UnsignedToken(Writer),
            _ => "not-a-jwt",
        };

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
        {
            using var response = await SendAsync(method, "/api/users", BodyFor(method.Method), Bearer(token));

            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        }

        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AReaderReadsAndAWriterWritesAndReads()
    {
        using var created = await SendAsync(HttpMethod.Post, "/api/users", BodyFor("POST"), Bearer(Authority.Token(Writer)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var url = created.Headers.Location!.OriginalString;

        foreach (var (roles, path) in new[] { (Reader, url), (Reader, "/api/users"), (Writer, url), (Writer, "/api/users") })
        {
            using var read = await SendAsync(HttpMethod.Get, path, configure: Bearer(Authority.Token(roles)));
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        using (var replaced = await SendAsync(HttpMethod.Put, url, ApiHost.Json("""{"username":"jane_doe","email":"jane@example.com"}"""), Bearer(Authority.Token(Writer))))
        {
            Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        }

        using (var patched = await SendAsync(HttpMethod.Patch, url, ApiHost.Json("""{"username":"jane_roe"}""", "application/merge-patch+json"), Bearer(Authority.Token(Writer))))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        using var deleted = await SendAsync(HttpMethod.Delete, url, configure: Bearer(Authority.Token(Writer)));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task AReaderWritingIsA403AndNothingChanges(string method)
    {
        var user = await CreateAsWriterAsync();
        var url = method == "POST" ? "/api/users" : $"/api/users/{user}";

        using var response = await SendAsync(new HttpMethod(method), url, BodyFor(method), Bearer(Authority.Token(Reader)));

        var problem = await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains(ApiRoles.ReadWrite, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(response.Headers.WwwAuthenticate);
        using var unchanged = await SendAsync(HttpMethod.Get, $"/api/users/{user}", configure: Bearer(Authority.Token(Reader)));
        Assert.Contains("john_doe", await unchanged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task AValidTokenWithoutAnAppRoleIsA403EvenToRead()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/users", configure: Bearer(Authority.Token(["Some.Other.Role"])));

        var problem = await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains(ApiRoles.Read, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/health")]
    [InlineData("/api/openapi.json")]
    [InlineData("/api/docs/")]
    public async Task HealthTheDocumentAndThePageNeedNoToken(string url)
    {
        using var response = await SendAsync(HttpMethod.Get, url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<long> CreateAsWriterAsync()
    {
        using var created = await SendAsync(HttpMethod.Post, "/api/users", BodyFor("POST"), Bearer(Authority.Token(Writer)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await ReadJsonAsync(created)).GetProperty("id").GetInt64();
    }

    private static StringContent? BodyFor(string method) => method switch
    {
        "POST" or "PUT" => ApiHost.Json("""{"username":"john_doe","email":"john@example.com"}"""),
        "PATCH" => ApiHost.Json("""{"username":"john_roe"}""", "application/merge-patch+json"),
        _ => null,
    };

    internal static Action<HttpRequestMessage> Bearer(string token) =>
        request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
}
