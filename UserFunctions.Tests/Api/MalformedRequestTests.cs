using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace UserFunctions.Tests.Api;

public abstract class MalformedRequestTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : MalformedRequestTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : MalformedRequestTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : MalformedRequestTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : MalformedRequestTests(host), IClassFixture<FunctionsOnPostgreSql>;

    public static TheoryData<string, string, string, HttpStatusCode> BadBodies => new()
    {
        { "malformed JSON", """{"username": "john_doe",""", "application/json", HttpStatusCode.BadRequest },
        { "empty body", "", "application/json", HttpStatusCode.BadRequest },
        { "JSON null", "null", "application/json", HttpStatusCode.BadRequest },
        { "an array", """[{"username":"john_doe","email":"john@example.com"}]""", "application/json", HttpStatusCode.BadRequest },
        { "a string", JsonSerializer.Serialize("john_doe"), "application/json", HttpStatusCode.BadRequest },
        { "a number for username", """{"username":123,"email":"john@example.com"}""", "application/json", HttpStatusCode.BadRequest },
        { "an object for email", """{"username":"john_doe","email":{"a":1}}""", "application/json", HttpStatusCode.BadRequest },
        { "an unknown property", """{"username":"john_doe","email":"john@example.com","isAdmin":true}""", "application/json", HttpStatusCode.BadRequest },
        { "a duplicate property", """{"username":"john_doe","username":"jane_doe","email":"john@example.com"}""", "application/json", HttpStatusCode.BadRequest },
        { "an id in the body", """{"id":7,"username":"john_doe","email":"john@example.com"}""", "application/json", HttpStatusCode.BadRequest },
        { "text/plain", """{"username":"john_doe","email":"john@example.com"}""", "text/plain", HttpStatusCode.UnsupportedMediaType },
        { "form data", "username=john_doe&email=john%40example.com", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType },
        { "a body too large", $$"""{"username":"john_doe","email":"john@example.com","x":"{{new string('x', 5000)}}"}""", "application/json", HttpStatusCode.RequestEntityTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadCreateBodyIsAProblemAndWritesNothing(string what, string body, string mediaType, HttpStatusCode status)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, mediaType);

        using var response = await Client.PostUserAsync(content);

        Assert.True(status == response.StatusCode, what);
        await AssertProblemAsync(response, status);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadReplaceBodyIsAProblemAndChangesNothing(string what, string body, string mediaType, HttpStatusCode status)
    {
        var user = await Server.CreateUserAsync("john_doe", "john@example.com");
        using var content = new StringContent(body, System.Text.Encoding.UTF8, mediaType);

        using var response = await Client.PutAsync($"/api/users/{user.GetProperty("id")}", content);

        Assert.True(status == response.StatusCode, what);
        await AssertProblemAsync(response, status);
        using var after = await Client.GetAsync($"/api/users/{user.GetProperty("id")}");
        Assert.Equal(user.GetProperty("updatedAt").GetString(), (await ReadJsonAsync(after)).GetProperty("updatedAt").GetString());
    }

    [Fact]
    public async Task AMissingContentTypeIs415()
    {
        using var content = new ByteArrayContent("""{"username":"john_doe","email":"john@example.com"}"""u8.ToArray());

        using var response = await Client.PostUserAsync(content);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task ANonUtf8CharsetIs415()
    {
        using var content = new ByteArrayContent("""{"username":"john_doe","email":"john@example.com"}"""u8.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "iso-8859-1" };

        using var response = await Client.PostUserAsync(content);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task ALargeBodyIsRejectedEvenWithoutAContentLength()
    {
        using var content = new StreamContent(new MemoryStream(new byte[10_000]));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentLength = null;

        using var response = await Client.PostUserAsync(content);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }
}
