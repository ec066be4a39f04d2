// The whole round trip through the Kiota client generated from the document a running app serves, used as generated: its
// base address is the document's server, the function key goes in the HttpClient's default headers, request headers go
// through the request configuration, response headers are read with Kiota's headers inspection option, and problems are
// caught as the generated ProblemDetails. Exits non-zero on the first broken
// expectation. Usage: dotnet <this>.dll <function key>
using System.Net;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using UsersApi;
using UsersApi.Models;
using Xunit;

if (args.Length != 1)
{
    Console.Error.WriteLine("Usage: dotnet UserFunctions.Tests.GeneratedClients.Kiota.dll <function key>");
    return 2;
}

// Kiota's ApiKeyAuthenticationProvider sends only over https, and the app here is plain http: the HttpClient (with Kiota's
// middleware) sends the key instead.
using var http = KiotaClientFactory.Create();
http.DefaultRequestHeaders.Add("x-functions-key", args[0]);
using var adapter = new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http);
var client = new UsersApiClient(adapter);
Console.WriteLine($"Base URL from the document: {adapter.BaseUrl}");

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
    var createdHeaders = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var created = await client.Users.PostAsync(ada, c => { c.Headers.Add("Idempotency-Key", key); c.Options.Add(createdHeaders); });
    Assert.Equal(ada.Username, created!.Username);
    var id = created.Id!.Value;
    var createdETag = Header(createdHeaders, "ETag");
    Assert.EndsWith($"/users/{id}", Header(createdHeaders, "Location"), StringComparison.Ordinal);
    var replayedHeaders = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var replayed = await client.Users.PostAsync(ada, c => { c.Headers.Add("Idempotency-Key", key); c.Options.Add(replayedHeaders); });
    Assert.Equal(id, replayed!.Id);
    Assert.Equal(createdETag, Header(replayedHeaders, "ETag"));
    Step($"create {id} with Idempotency-Key, replayed once");

    // Get, then 304 for the ETag the client already has: Kiota answers a 304 with null, and its native response handler
    // tells the status.
    var readHeaders = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var read = await client.Users[id].GetAsync(c => c.Options.Add(readHeaders));
    Assert.Equal(ada.Email, read!.Email);
    Assert.Equal(createdETag, Header(readHeaders, "ETag"));
    var native = new NativeResponseHandler();
    var notModified = await client.Users[id].GetAsync(c =>
    {
        c.Headers.Add("If-None-Match", createdETag);
        c.Options.Add(new ResponseHandlerOption { ResponseHandler = native });
    });
    Assert.Null(notModified);
    Assert.Equal(HttpStatusCode.NotModified, Assert.IsType<HttpResponseMessage>(native.Value).StatusCode);
    Step("get 200, then 304 with If-None-Match");

    // List in pages of two, following next as it is (WithUrl): it is an absolute URL under the document's server.
    var ids = new List<int> { id };
    for (var i = 0; i < 4; i++)
    {
        ids.Add((await client.Users.PostAsync(new UserRequest { Username = $"u{i}-{run}", Email = $"u{i}-{run}@example.com" }))!.Id!.Value);
    }

    var listed = new List<int>();
    var pages = 0;
    var page = await client.Users.GetAsync(c => c.QueryParameters.Limit = 2);
    while (true)
    {
        pages++;
        Assert.InRange(page!.Items!.Count, 1, 2);
        listed.AddRange(page.Items.Select(u => u.Id!.Value));
        if (page.Next is null)
        {
            break;
        }

        page = await client.Users.WithUrl(page.Next).GetAsync();
    }

    Assert.Equal(ids, listed);
    Assert.Equal(3, pages);
    Step($"list {listed.Count} users in {pages} pages, following next");

    // Patch one member with If-Match and an Idempotency-Key.
    var patchedHeaders = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var patched = await client.Users[id].PatchAsync(new UserPatch { Email = $"ada.lovelace-{run}@example.com" }, c =>
    {
        c.Headers.Add("If-Match", createdETag);
        c.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        c.Options.Add(patchedHeaders);
    });
    Assert.Equal(ada.Username, patched!.Username);
    Assert.Equal($"ada.lovelace-{run}@example.com", patched.Email);
    var patchedETag = Header(patchedHeaders, "ETag");
    Assert.NotEqual(createdETag, patchedETag);
    Step("patch with If-Match and Idempotency-Key");

    // Put with the ETag from before the patch: a typed 412, and nothing changed.
    var replacement = new UserRequest { Username = $"ada-k-{run}", Email = $"ada-k-{run}@example.com" };
    var stale = await Assert.ThrowsAsync<ProblemDetails>(() => client.Users[id].PutAsync(replacement, c => c.Headers.Add("If-Match", createdETag)));
    AssertProblem(stale, 412);
    Assert.Equal($"ada.lovelace-{run}@example.com", (await client.Users[id].GetAsync())!.Email);
    var replacedHeaders = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
    var replaced = await client.Users[id].PutAsync(replacement, c => { c.Headers.Add("If-Match", patchedETag); c.Options.Add(replacedHeaders); });
    Assert.Equal($"ada-k-{run}", replaced!.Username);
    Step("put with a stale If-Match: typed 412; with the current one: replaced");

    // Delete, then the user is a typed 404.
    await client.Users[id].DeleteAsync(c => c.Headers.Add("If-Match", Header(replacedHeaders, "ETag")));
    var gone = await Assert.ThrowsAsync<ProblemDetails>(() => client.Users[id].GetAsync());
    AssertProblem(gone, 404);
    Step("delete, then get: typed 404");

    // A taken username: typed 409.
    var taken = await Assert.ThrowsAsync<ProblemDetails>(() =>
        client.Users.PostAsync(new UserRequest { Username = $"u0-{run}", Email = $"other-{run}@example.com" }));
    AssertProblem(taken, 409);
    Step("create with a taken username: typed 409");

    // Invalid fields: typed 400 with the errors by field.
    var invalid = await Assert.ThrowsAsync<ProblemDetails>(() => client.Users.PostAsync(new UserRequest { Username = "a b", Email = "not-an-email" }));
    AssertProblem(invalid, 400);
    Assert.Contains("username", invalid.Errors!.AdditionalData.Keys);
    Assert.Contains("email", invalid.Errors.AdditionalData.Keys);

    // A malformed Idempotency-Key: typed 400 that has no errors member.
    var malformedKey = await Assert.ThrowsAsync<ProblemDetails>(() =>
        client.Users.PostAsync(new UserRequest { Username = $"bob-{run}", Email = $"bob-{run}@example.com" }, c => c.Headers.Add("Idempotency-Key", "\"unterminated")));
    AssertProblem(malformedKey, 400);
    Assert.Null(malformedKey.Errors);
    Step("invalid fields and a malformed Idempotency-Key: typed 400s");
}

static string Header(HeadersInspectionHandlerOption inspected, string name) =>
    Assert.Single(inspected.ResponseHeaders.Single(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value);

static void AssertProblem(ProblemDetails problem, int status)
{
    Assert.Equal(status, problem.ResponseStatusCode);
    Assert.Equal(status, problem.Status);
    Assert.False(string.IsNullOrWhiteSpace(problem.Title));
    Assert.Matches("^[0-9a-f]{32}$", problem.TraceId);
}

static void Step(string what) => Console.WriteLine($"ok: {what}");
