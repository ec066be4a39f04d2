using System.Net;
using System.Text;

namespace UserFunctions.Tests.Api;

/// <summary>
/// Inputs that once broke a rule of the contract, found by <see cref="RandomRequestTests"/>, each pinned down here so
/// that it stays fixed whatever seed the random run takes.
/// </summary>
public abstract class OddInputTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : OddInputTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : OddInputTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : OddInputTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : OddInputTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Theory]
    [InlineData("application/xml")]
    [InlineData("text/html")]
    public async Task AProblemIsJsonWithATraceIdWhateverTheAcceptHeader(string accept)
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/users/2147483647", configure: request =>
            request.Headers.TryAddWithoutValidation("Accept", accept));

        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
    }

    [Theory]
    [InlineData("ключ")]
    [InlineData("\"caf\u00e9\"")]
    public async Task ANonAsciiIdempotencyKeyIs400AndWritesNothing(string key)
    {
        // Sent as UTF-8: HttpClient refuses non-ASCII header values unless told how to encode them.
        using var client = Server.Kind == HostKind.Functions
            ? new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 }) { BaseAddress = Server.Functions!.BaseAddress }
            : null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = ApiHost.Json("{\"username\":\"john_doe\",\"email\":\"john@example.com\"}") };
        request.Headers.TryAddWithoutValidation("x-functions-key", ApiHost.FunctionKey);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        using var response = client is null ? await Client.SendAsync(request) : await client.SendAsync(request);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Idempotency-Key", problem.GetProperty("header").GetString());
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Theory]
    [InlineData("USERNAME", "username")]
    [InlineData("Email", "email")]
    public async Task APatchThatNullsAMemberInAnotherLetterCaseIs400(string member, string field)
    {
        var user = await Server.CreateUserAsync("john_doe", "john@example.com");

        using var response = await Client.PatchUserAsync($"/api/users/{user.GetProperty("id")}", $"{{\"{member}\":null}}");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Theory]
    [InlineData("{\"email\":\"jane@example.com\",\"email\":\"joe@example.com\"}")]
    [InlineData("{\"username\":\"jane_doe\",\"USERNAME\":\"joe_doe\"}")]
    [InlineData("{\"username\":\"dup\",\"email\":false,\"username\":1e400}")]
    public async Task APatchThatNamesAMemberTwiceIs400AndChangesNothing(string patch)
    {
        var user = await Server.CreateUserAsync("john_doe", "john@example.com");

        using var response = await Client.PatchUserAsync($"/api/users/{user.GetProperty("id")}", patch);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        using var after = await Client.GetAsync($"/api/users/{user.GetProperty("id")}");
        Assert.Equal(user.GetProperty("updatedAt").GetString(), (await ReadJsonAsync(after)).GetProperty("updatedAt").GetString());
    }

    [Fact]
    public async Task APatchNamesAMemberInAnyLetterCase()
    {
        var user = await Server.CreateUserAsync("john_doe", "john@example.com");

        using var response = await Client.PatchUserAsync($"/api/users/{user.GetProperty("id")}", "{\"UserName\":\"jane_doe\",\"EMAIL\":\"jane@example.com\"}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patched = await ReadJsonAsync(response);
        Assert.Equal("jane_doe", patched.GetProperty("username").GetString());
        Assert.Equal("jane@example.com", patched.GetProperty("email").GetString());
    }
}
