using System.Net;
using System.Net.Http.Headers;

namespace UserFunctions.Tests.Api;

public abstract class UpdateUserTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : UpdateUserTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : UpdateUserTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : UpdateUserTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : UpdateUserTests(host), IClassFixture<FunctionsOnPostgreSql>;

    private const string JaneJson = """{"username":"jane_doe","email":"jane@example.com"}""";

    [Fact]
    public async Task PutReplacesBothFieldsKeepsCreatedAtAndIssuesANewETag()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var user = await ReadJsonAsync(created);

        using var response = await Client.PutAsync(created.Headers.Location, ApiHost.Json("""{"username":" jane_doe ","email":"jane@example.com"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var replaced = await ReadJsonAsync(response);
        Assert.Equal("jane_doe", replaced.GetProperty("username").GetString());
        Assert.Equal("jane@example.com", replaced.GetProperty("email").GetString());
        Assert.Equal(user.GetProperty("createdAt").GetString(), replaced.GetProperty("createdAt").GetString());
        Assert.NotEqual(ETagOf(created), ETagOf(response));
        using var reread = await Client.GetAsync(created.Headers.Location);
        Assert.Equal(ETagOf(response), ETagOf(reread));
    }

    [Fact]
    public async Task PutWithTheCurrentIfMatchSucceedsAndWithAStaleOneIs412AndChangesNothing()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;
        using var first = await SendAsync(HttpMethod.Put, url, ApiHost.Json(JaneJson), IfMatch(ETagOf(created)));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        using var stale = await SendAsync(HttpMethod.Put, url, ApiHost.Json("""{"username":"stale","email":"stale@example.com"}"""), IfMatch(ETagOf(created)));

        await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed);
        using var current = await Client.GetAsync(url);
        Assert.Equal("jane_doe", (await ReadJsonAsync(current)).GetProperty("username").GetString());
        Assert.Equal(ETagOf(first), ETagOf(current));
    }

    [Fact]
    public async Task AWeakOrUnparsableIfMatchNeverMatches()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;

        using var weak = await SendAsync(HttpMethod.Put, url, ApiHost.Json(JaneJson), r => r.Headers.TryAddWithoutValidation("If-Match", "W/" + ETagOf(created)));
        using var garbage = await SendAsync(HttpMethod.Put, url, ApiHost.Json(JaneJson), r => r.Headers.TryAddWithoutValidation("If-Match", "not-an-etag"));

        await AssertProblemAsync(weak, HttpStatusCode.PreconditionFailed);
        await AssertProblemAsync(garbage, HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task IfMatchStarUpdatesAnyExistingVersion()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await SendAsync(HttpMethod.Put, created.Headers.Location!.OriginalString, ApiHost.Json(JaneJson), r => r.Headers.IfMatch.Add(EntityTagHeaderValue.Any));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TwoUpdatesRacingWithTheSameIfMatchGiveOne200AndOne412()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var url = created.Headers.Location!.OriginalString;
        var etag = ETagOf(created);

        var responses = await Task.WhenAll(
            SendAsync(HttpMethod.Put, url, ApiHost.Json("""{"username":"first","email":"first@example.com"}"""), IfMatch(etag)),
            SendAsync(HttpMethod.Put, url, ApiHost.Json("""{"username":"second","email":"second@example.com"}"""), IfMatch(etag)));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.PreconditionFailed], responses.Select(r => r.StatusCode).Order());
        var winner = responses.Single(r => r.StatusCode == HttpStatusCode.OK);
        using var current = await Client.GetAsync(url);
        Assert.Equal(ETagOf(winner), ETagOf(current));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task PutToAnotherUsersUsernameIs409AndChangesNothing()
    {
        await Server.CreateUserAsync("jane_doe", "jane@example.com");
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.PutAsync(created.Headers.Location, ApiHost.Json("""{"username":"JANE_DOE","email":"john@example.com"}"""));

        var problem = await AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.True(problem.GetProperty("errors").TryGetProperty("username", out _));
        using var current = await Client.GetAsync(created.Headers.Location);
        Assert.Equal(ETagOf(created), ETagOf(current));
    }

    [Fact]
    public async Task ChangingOnlyTheCaseOfYourOwnUsernameIsAllowed()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.PutAsync(created.Headers.Location, ApiHost.Json("""{"username":"John_Doe","email":"JOHN@example.com"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("John_Doe", (await ReadJsonAsync(response)).GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("application/merge-patch+json")]
    [InlineData("application/json")]
    public async Task PatchChangesOnlyTheFieldsItNames(string mediaType)
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"email":"new@example.com"}""", mediaType));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patched = await ReadJsonAsync(response);
        Assert.Equal("john_doe", patched.GetProperty("username").GetString());
        Assert.Equal("new@example.com", patched.GetProperty("email").GetString());
        Assert.NotEqual(ETagOf(created), ETagOf(response));
    }

    [Fact]
    public async Task PatchingARequiredFieldToNullIs400AndChangesNothing()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"username":null}""", "application/merge-patch+json"));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("username", out _));
        using var current = await Client.GetAsync(created.Headers.Location);
        Assert.Equal(ETagOf(created), ETagOf(current));
    }

    [Fact]
    public async Task PatchValidatesTheMergedUser()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var response = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"email":"not an email"}""", "application/merge-patch+json"));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("email", out _));
    }

    [Fact]
    public async Task PatchWithAStaleIfMatchIs412()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        using var first = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"email":"first@example.com"}"""));

        using var stale = await SendAsync(HttpMethod.Patch, created.Headers.Location!.OriginalString,
            ApiHost.Json("""{"email":"stale@example.com"}""", "application/merge-patch+json"), IfMatch(ETagOf(created)));

        await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task PatchRejectsUnknownMembersAndOtherMediaTypes()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");

        using var unknown = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"createdAt":"2020-01-01T00:00:00Z"}""", "application/merge-patch+json"));
        using var jsonPatch = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""[{"op":"replace","path":"/email","value":"x@example.com"}]""", "application/json-patch+json"));

        await AssertProblemAsync(unknown, HttpStatusCode.BadRequest);
        await AssertProblemAsync(jsonPatch, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task PutAndPatchToAMissingUserAre404AndWriteNothing()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var missing = await DeletedUserUrlAsync();

        using var put = await Client.PutAsync(missing, ApiHost.Json(JaneJson));
        using var patch = await Client.PatchAsync(missing, ApiHost.Json("""{"username":"jane_doe"}"""));

        await AssertProblemAsync(put, HttpStatusCode.NotFound);
        await AssertProblemAsync(patch, HttpStatusCode.NotFound);
        using var free = await Server.CreateAsync("jane_doe", "jane@example.com");
        Assert.Equal(HttpStatusCode.Created, free.StatusCode);
    }

    [Fact]
    public async Task AnInvalidPatchToAMissingUserIs404AndWithAStaleIfMatchIs412()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var missing = await DeletedUserUrlAsync();
        using var changed = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"email":"first@example.com"}"""));

        using var notFound = await Client.PatchAsync(missing, ApiHost.Json("""{"email":"not an email"}"""));
        using var stale = await SendAsync(HttpMethod.Patch, created.Headers.Location!.OriginalString,
            ApiHost.Json("""{"email":"not an email"}"""), IfMatch(ETagOf(created)));

        await AssertProblemAsync(notFound, HttpStatusCode.NotFound);
        await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task PatchOfOneMemberAnswersWithTheStoredOtherMemberAndCreatedAt()
    {
        using var created = await Server.CreateAsync("john_doe", "john@example.com");
        var user = await ReadJsonAsync(created);

        using var response = await Client.PatchAsync(created.Headers.Location, ApiHost.Json("""{"username":"JANE_doe"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patched = await ReadJsonAsync(response);
        Assert.Equal("JANE_doe", patched.GetProperty("username").GetString());
        Assert.Equal("john@example.com", patched.GetProperty("email").GetString());
        Assert.Equal(user.GetProperty("createdAt").GetString(), patched.GetProperty("createdAt").GetString());
        using var reread = await Client.GetAsync(created.Headers.Location);
        Assert.Equal(patched.GetRawText(), (await ReadJsonAsync(reread)).GetRawText());
        Assert.Equal(ETagOf(response), ETagOf(reread));
    }

    private async Task<Uri> DeletedUserUrlAsync()
    {
        using var created = await Server.CreateAsync("gone_user", "gone@example.com");
        using var deleted = await Client.DeleteAsync(created.Headers.Location);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        return created.Headers.Location!;
    }

    private static Action<HttpRequestMessage> IfMatch(string etag) => request => request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag));
}
