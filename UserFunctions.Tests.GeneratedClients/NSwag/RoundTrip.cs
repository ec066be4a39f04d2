// The whole round trip through the NSwag client generated from the document a running app serves, used as generated: its
// base address is the document's server, the function key goes in the HttpClient's default headers (NSwag does not apply
// the document's security schemes), and every answer is read through the generated types. Exits non-zero on the first
// broken expectation. Usage: dotnet <this>.dll <function key>
using System.Web;
using UsersApi;
using Xunit;

if (args.Length != 1)
{
    Console.Error.WriteLine("Usage: dotnet UserFunctions.Tests.GeneratedClients.NSwag.dll <function key>");
    return 2;
}

using var http = new HttpClient();
http.DefaultRequestHeaders.Add("x-functions-key", args[0]);
var client = new UsersApiClient(http);
Console.WriteLine($"Base URL from the document: {client.BaseUrl}");

try
{
    await RoundTripAsync(client);
    Console.WriteLine("Round trip complete.");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 1;
}

static async Task RoundTripAsync(UsersApiClient client)
{
    var run = Guid.NewGuid().ToString("N")[..8];

    // Create with an Idempotency-Key; the same request again under the same key is the first answer again, not a second user.
    var key = Guid.NewGuid().ToString();
    var ada = new UserRequest { Username = $"ada-{run}", Email = $"ada-{run}@example.com" };
    var created = await client.CreateUserAsync(ada, key);
    Assert.Equal(201, created.StatusCode);
    Assert.Equal(ada.Username, created.Result.Username);
    var id = created.Result.Id;
    var createdETag = Header(created, "ETag");
    Assert.EndsWith($"/users/{id}", Header(created, "Location"), StringComparison.Ordinal);
    var replayed = await client.CreateUserAsync(ada, key);
    Assert.Equal(201, replayed.StatusCode);
    Assert.Equal(id, replayed.Result.Id);
    Assert.Equal(createdETag, Header(replayed, "ETag"));
    Step($"create {id} with Idempotency-Key, replayed once");

    // Get, then 304 for the ETag the client already has.
    var read = await client.GetUserAsync(id);
    Assert.Equal(ada.Email, read.Result.Email);
    Assert.Equal(createdETag, Header(read, "ETag"));
    var notModified = await Assert.ThrowsAsync<ApiException>(() => client.GetUserAsync(id, createdETag));
    Assert.Equal(304, notModified.StatusCode);
    Step("get 200, then 304 with If-None-Match");

    // List in pages of two, following next (an absolute URL under the document's server) to the last page.
    var ids = new List<int> { id };
    for (var i = 0; i < 4; i++)
    {
        ids.Add((await client.CreateUserAsync(new UserRequest { Username = $"u{i}-{run}", Email = $"u{i}-{run}@example.com" })).Result.Id);
    }

    var listed = new List<int>();
    var pages = 0;
    var page = (await client.ListUsersAsync(limit: 2)).Result;
    while (true)
    {
        pages++;
        Assert.InRange(page.Items.Count, 1, 2);
        listed.AddRange(page.Items.Select(u => u.Id));
        if (page.Next is null)
        {
            break;
        }

        Assert.StartsWith(client.BaseUrl, page.Next, StringComparison.Ordinal);
        page = (await FollowAsync(client, new Uri(page.Next))).Result;
    }

    Assert.Equal(ids, listed);
    Assert.Equal(3, pages);
    Step($"list {listed.Count} users in {pages} pages, following next");

    // Patch one member with If-Match and an Idempotency-Key.
    var patched = await client.PatchUserAsync(id, new UserPatch { Email = $"ada.lovelace-{run}@example.com" }, createdETag, Guid.NewGuid().ToString());
    Assert.Equal(200, patched.StatusCode);
    Assert.Equal(ada.Username, patched.Result.Username);
    Assert.Equal($"ada.lovelace-{run}@example.com", patched.Result.Email);
    var patchedETag = Header(patched, "ETag");
    Assert.NotEqual(createdETag, patchedETag);
    Step("patch 200 with If-Match and Idempotency-Key");

    // Put with the ETag from before the patch: a typed 412, and nothing changed.
    var stale = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() =>
        client.ReplaceUserAsync(id, new UserRequest { Username = $"ada-k-{run}", Email = $"ada-k-{run}@example.com" }, createdETag));
    AssertProblem(stale, 412);
    Assert.Equal(patchedETag, Header(await client.GetUserAsync(id), "ETag"));
    var replaced = await client.ReplaceUserAsync(id, new UserRequest { Username = $"ada-k-{run}", Email = $"ada-k-{run}@example.com" }, patchedETag);
    Assert.Equal($"ada-k-{run}", replaced.Result.Username);
    Step("put with a stale If-Match: typed 412; with the current one: 200");

    // Delete, then the user is a typed 404.
    var deleted = await client.DeleteUserAsync(id, Header(replaced, "ETag"));
    Assert.Equal(204, deleted.StatusCode);
    var gone = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() => client.GetUserAsync(id));
    AssertProblem(gone, 404);
    Step("delete 204, then get: typed 404");

    // A taken username: typed 409.
    var taken = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() =>
        client.CreateUserAsync(new UserRequest { Username = $"u0-{run}", Email = $"other-{run}@example.com" }));
    AssertProblem(taken, 409);
    Step("create with a taken username: typed 409");

    // Invalid fields: typed 400 with the errors by field.
    var invalid = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() =>
        client.CreateUserAsync(new UserRequest { Username = "a b", Email = "not-an-email" }));
    AssertProblem(invalid, 400);
    Assert.Contains("username", invalid.Result.Errors.Keys);
    Assert.Contains("email", invalid.Result.Errors.Keys);

    // A malformed Idempotency-Key: typed 400 that has no errors member.
    var malformedKey = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() =>
        client.CreateUserAsync(new UserRequest { Username = $"bob-{run}", Email = $"bob-{run}@example.com" }, "\"unterminated"));
    AssertProblem(malformedKey, 400);
    Assert.Null(malformedKey.Result.Errors);
    Step("invalid fields and a malformed Idempotency-Key: typed 400s");
}

// The generated ListUsers takes the query's members, not a URL: pass on every member the link carries.
static Task<SwaggerResponse<UserPage>> FollowAsync(UsersApiClient client, Uri next)
{
    var query = HttpUtility.ParseQueryString(next.Query);
    Assert.Subset(new HashSet<string?> { "limit", "cursor", "username", "email" }, query.AllKeys.ToHashSet());
    return client.ListUsersAsync(
        query["limit"] is { } limit ? int.Parse(limit, System.Globalization.CultureInfo.InvariantCulture) : null,
        query["cursor"],
        query["username"],
        query["email"]);
}

static string Header(SwaggerResponse response, string name) =>
    Assert.Single(response.Headers.Single(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value);

static void AssertProblem(ApiException<ProblemDetails> exception, int status)
{
    Assert.Equal(status, exception.StatusCode);
    Assert.Equal(status, exception.Result.Status);
    Assert.False(string.IsNullOrWhiteSpace(exception.Result.Title));
    Assert.Matches("^[0-9a-f]{32}$", exception.Result.TraceId);
}

static void Step(string what) => Console.WriteLine($"ok: {what}");
