using System.Net;

namespace UserFunctions.Tests.Api;

public abstract class CreateUserTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : CreateUserTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : CreateUserTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : CreateUserTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : CreateUserTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Fact]
    public async Task PostingAValidUserReturns201WithLocationETagAndTheTrimmedUser()
    {
        using var response = await Server.CreateAsync("  john_doe ", " john@example.com\t");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var user = await ReadJsonAsync(response);
        var id = user.GetProperty("id").GetInt32();
        Assert.True(id > 0);
        Assert.Equal($"/api/users/{id}", response.Headers.Location?.OriginalString);
        Assert.Matches("^\"[0-9a-f]{32}\"$", ETagOf(response));
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal("john_doe", user.GetProperty("username").GetString());
        Assert.Equal("john@example.com", user.GetProperty("email").GetString());
        Assert.EndsWith("Z", user.GetProperty("createdAt").GetString(), StringComparison.Ordinal);
        Assert.Equal(user.GetProperty("createdAt").GetString(), user.GetProperty("updatedAt").GetString());
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Theory]
    [InlineData("John_Doe", "other@example.com", "username")]
    [InlineData("JOHN_DOE", "other@example.com", "username")]
    [InlineData("jane_doe", "John@Example.COM", "email")]
    public async Task ACaseInsensitiveDuplicateIsA409NamingTheFieldAndWritesNothing(string username, string email, string field)
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");

        using var response = await Server.CreateAsync(username, email);

        var problem = await AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"The 409 should name {field}.");
        Assert.Equal(1, await Server.CountUsersAsync());
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(80, true)]
    [InlineData(2, false)]
    [InlineData(81, false)]
    public async Task UsernamesMustBe3To80Characters(int length, bool accepted)
    {
        using var response = await Server.CreateAsync(new string('a', length), "john@example.com");

        await AssertAcceptedOrFieldErrorAsync(response, accepted, "username");
    }

    [Theory]
    [InlineData(120, true)]
    [InlineData(121, false)]
    public async Task EmailsMustBeAtMost120Characters(int length, bool accepted)
    {
        const string domain = "@example.com";
        using var response = await Server.CreateAsync("john_doe", new string('j', length - domain.Length) + domain);

        await AssertAcceptedOrFieldErrorAsync(response, accepted, "email");
    }

    [Theory]
    [InlineData("john doe")]
    [InlineData("john@doe")]
    [InlineData("jöhn_doe")]
    [InlineData("john+doe")]
    public async Task UsernamesAllowOnlyLettersDigitsDotsUnderscoresAndHyphens(string username)
    {
        using var response = await Server.CreateAsync(username, "john@example.com");

        await AssertAcceptedOrFieldErrorAsync(response, accepted: false, "username");
    }

    [Theory]
    [InlineData("john.doe-1@mail.example.com", true)]
    [InlineData("plainaddress", false)]
    [InlineData("john@@example.com", false)]
    [InlineData("john@example@com", false)]
    [InlineData("John Doe <john@example.com>", false)]
    [InlineData("john doe@example.com", false)]
    [InlineData("john@localhost", false)]
    [InlineData("john@example..com", false)]
    [InlineData("@example.com", false)]
    [InlineData("john@", false)]
    public async Task EmailsMustBePlainAddresses(string email, bool accepted)
    {
        using var response = await Server.CreateAsync("john_doe", email);

        await AssertAcceptedOrFieldErrorAsync(response, accepted, "email");
    }

    [Fact]
    public async Task MissingFieldsAreValidationErrorsKeyedByField()
    {
        using var response = await Client.PostUserAsync("{}");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("username", out _));
        Assert.True(errors.TryGetProperty("email", out _));
        Assert.Equal(0, await Server.CountUsersAsync());
    }

    [Fact]
    public async Task TwentyParallelCreatesOfOneUsernameMakeExactlyOneUser()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Server.CreateAsync("race_user", $"race{i}@example.com")));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.Single(statuses, HttpStatusCode.Created);
        Assert.Equal(19, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.DoesNotContain(statuses, s => (int)s >= 500);
        Assert.Equal(1, await Server.CountUsersAsync());
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    private async Task AssertAcceptedOrFieldErrorAsync(HttpResponseMessage response, bool accepted, string field)
    {
        if (accepted)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(1, await Server.CountUsersAsync());
            return;
        }

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"Expected an error for {field}.");
        Assert.Equal(0, await Server.CountUsersAsync());
    }
}
