using System.Net.Http.Headers;

namespace UserFunctions.Tests.Api;

/// <summary>The requests the tests send the API with any client: a host's, or one of a test's own worker.</summary>
public static class UsersClient
{
    /// <summary>
    /// POST /api/users: the one way the tests create users. An Idempotency-Key, when given, is sent as is (so malformed keys can
    /// be tested); <paramref name="configure"/> sets anything else.
    /// </summary>
    public static async Task<HttpResponseMessage> PostUserAsync(
        this HttpClient client, HttpContent body, string? idempotencyKey = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/users") { Content = body };
        AddIdempotencyKey(request, idempotencyKey);
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PostUserAsync(
        this HttpClient client, string json, string? idempotencyKey = null, Action<HttpRequestMessage>? configure = null) =>
        client.PostUserAsync(ApiHost.Json(json), idempotencyKey, configure);

    /// <summary>A merge-patch of <paramref name="url"/>, with an Idempotency-Key and an If-Match when they are given.</summary>
    public static async Task<HttpResponseMessage> PatchUserAsync(this HttpClient client, string url, string json, string? idempotencyKey = null, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = ApiHost.Json(json, "application/merge-patch+json") };
        AddIdempotencyKey(request, idempotencyKey);
        if (ifMatch is not null)
        {
            request.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(ifMatch));
        }

        return await client.SendAsync(request);
    }

    private static void AddIdempotencyKey(HttpRequestMessage request, string? key)
    {
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }
    }
}
