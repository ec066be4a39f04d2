using System.Net;
using System.Text.Json;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Api;

public abstract class ListUsersTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : ListUsersTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : ListUsersTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : ListUsersTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : ListUsersTests(host), IClassFixture<FunctionsOnPostgreSql>;

    [Fact]
    public async Task WalkingEveryPageWithNextReturnsEachUserOnceInIdOrder()
    {
        var created = new List<int>();
        for (var i = 0; i < 45; i++)
        {
            created.Add((await Server.CreateUserAsync($"user{i:D2}", $"user{i:D2}@example.com")).GetProperty("id").GetInt32());
        }

        var seen = new List<int>();
        var pages = 0;
        string? next = "/api/users?limit=20";
        while (next is not null)
        {
            using var response = await Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadJsonAsync(response);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 20);
            seen.AddRange(items.Select(item => item.GetProperty("id").GetInt32()));
            next = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(created.Order(), seen);
    }

    [Fact]
    public async Task TheDefaultPageHas20UsersAndAnEmptyListHasNoNext()
    {
        using var empty = await Client.GetAsync("/api/users");
        var emptyPage = await ReadJsonAsync(empty);
        Assert.Empty(emptyPage.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, emptyPage.GetProperty("next").ValueKind);

        for (var i = 0; i < 21; i++)
        {
            await Server.CreateUserAsync($"user{i:D2}", $"user{i:D2}@example.com");
        }

        using var response = await Client.GetAsync("/api/users");
        var page = await ReadJsonAsync(response);
        Assert.Equal(UserListQuery.DefaultLimit, page.GetProperty("items").GetArrayLength());
        var next = new Uri(page.GetProperty("next").GetString()!);
        Assert.True(next.IsAbsoluteUri, "next must be absolute: generated clients follow it as given.");
        Assert.Equal(Client.BaseAddress!.GetLeftPart(UriPartial.Authority), next.GetLeftPart(UriPartial.Authority));
        Assert.StartsWith("/api/users?limit=20&cursor=", next.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsernameAndEmailFiltersMatchExactlyIgnoringCase()
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");
        await Server.CreateUserAsync("john_doe2", "john2@example.com");

        using var byUsername = await Client.GetAsync("/api/users?username=JOHN_DOE");
        using var byEmail = await Client.GetAsync("/api/users?email=John2%40Example.com");
        using var none = await Client.GetAsync("/api/users?username=john");
        using var both = await Client.GetAsync("/api/users?username=john_doe&email=john2%40example.com");

        Assert.Equal(["john_doe"], Usernames(await ReadJsonAsync(byUsername)));
        Assert.Equal(["john_doe2"], Usernames(await ReadJsonAsync(byEmail)));
        Assert.Empty(Usernames(await ReadJsonAsync(none)));
        Assert.Empty(Usernames(await ReadJsonAsync(both)));
    }

    [Fact]
    public async Task TheNextLinkKeepsTheFilters()
    {
        await Server.CreateUserAsync("john_doe", "john@example.com");
        await Server.CreateUserAsync("jane_doe", "jane@example.com");

        using var response = await Client.GetAsync("/api/users?limit=1&email=JOHN%40example.com");
        var page = await ReadJsonAsync(response);

        Assert.Equal(["john_doe"], Usernames(page));
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=-5")]
    [InlineData("limit=ten")]
    [InlineData("limit=")]
    [InlineData("limit=5&limit=6")]
    public async Task ABadLimitIs400(string query)
    {
        using var response = await Client.GetAsync($"/api/users?{query}");

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task GarbageAndEditedCursorsAre400()
    {
        for (var i = 0; i < 3; i++)
        {
            await Server.CreateUserAsync($"user{i}", $"user{i}@example.com");
        }

        using var first = await Client.GetAsync("/api/users?limit=1");
        var next = (await ReadJsonAsync(first)).GetProperty("next").GetString()!;
        var cursor = next[(next.IndexOf("cursor=", StringComparison.Ordinal) + "cursor=".Length)..];
        var edited = (cursor[3] == 'A' ? 'B' : 'A') is var c ? cursor[..3] + c + cursor[4..] : cursor;

        foreach (var bad in new[] { "garbage", "", edited, cursor + "A", PageCursor.Encode(1)[..^2] })
        {
            using var response = await Client.GetAsync($"/api/users?cursor={Uri.EscapeDataString(bad)}");
            var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out _), bad);
        }

        using var good = await Client.GetAsync(next);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    private static List<string?> Usernames(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("username").GetString()).ToList();
}
