using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace UserFunctions.Tests.Api;

/// <summary>
/// The HTTP tests, written once and run on every host and database: each test class is abstract and nests one sealed
/// subclass per combination (<c>OnDevServerSqlite</c>, <c>OnFunctionsSqlite</c>, <c>OnDevServerPostgreSql</c>,
/// <c>OnFunctionsPostgreSql</c>), whose class fixture is that host. Each test starts with an empty table.
/// </summary>
public abstract class ApiTestBase(ApiHost host) : IAsyncLifetime
{
    protected ApiHost Server { get; } = host;

    protected HttpClient Client => Server.Client;

    public Task InitializeAsync() => Server.Database.EmptyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Asserts an RFC 9457 problem with the status, and that it leaks no exception details.</summary>
    protected static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        AssertLeaksNothing(body);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        return problem;
    }

    protected static void AssertLeaksNothing(string body)
    {
        foreach (var telltale in new[] { "Exception", "   at ", "SQLite Error", "no such table", "System.", "UserFunctions.Core", "StackTrace" })
        {
            Assert.DoesNotContain(telltale, body, StringComparison.Ordinal);
        }
    }

    protected static string ETagOf(HttpResponseMessage response) =>
        response.Headers.ETag?.ToString() ?? throw new Xunit.Sdk.XunitException("The response has no ETag.");

    protected async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        configure?.Invoke(request);
        return await Client.SendAsync(request);
    }

    protected static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();
}
