using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using UserFunctions.Core;
using UserFunctions.Core.Docs;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;
using UserFunctions.DevServer;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;
using Xunit.Abstractions;

namespace UserFunctions.Tests.Docs;

/// <summary>
/// The API reference page as a user sees it: headless Chromium opens <c>/api/docs</c> on each host and must show the users
/// operations, offer a function key field, and load everything from the host. A screenshot of each is kept in
/// <c>TestResults/</c> under the test output folder.
/// </summary>
public abstract class ApiDocsPageTests(Uri baseAddress, string hostName, ITestOutputHelper output)
{
    public sealed class OnDevServer(KestrelDevServer host, ITestOutputHelper output)
        : ApiDocsPageTests(host.BaseAddress, "devserver", output), IClassFixture<KestrelDevServer>;

    public sealed class OnFunctions(FunctionsOnSqlite host, ITestOutputHelper output)
        : ApiDocsPageTests(host.Functions!.BaseAddress, "functions", output), IClassFixture<FunctionsOnSqlite>;

    private static readonly string[] UsersOperations =
    [
        UserOperations.CreateUser, UserOperations.ListUsers, UserOperations.GetUser,
        UserOperations.ReplaceUser, UserOperations.PatchUser, UserOperations.DeleteUser,
    ];

    [Fact]
    public async Task ThePageListsTheUsersOperationsOffersAKeyFieldAndLoadsNothingFromElsewhere()
    {
        var summaries = await UsersOperationSummariesAsync();
        await using var chromium = await HeadlessChromium.StartAsync();

        await chromium.NavigateAsync(new Uri(baseAddress, $"/{ApiOperations.RoutePrefix}/docs"));
        string text;
        try
        {
            text = await chromium.WaitForTextAsync([.. summaries, "x-functions-key"], TimeSpan.FromSeconds(90));
        }
        finally
        {
            await SaveScreenshotAsync(chromium, "page");
        }

        Assert.Contains("/users/{id}", text, StringComparison.Ordinal);
        var requested = chromium.RequestedUrls;
        Assert.Contains(requested, url => url.EndsWith("/api/docs/scalar.js", StringComparison.Ordinal));
        Assert.Contains(requested, url => url.EndsWith($"/api/{OpenApiDocumentApi.Route}", StringComparison.Ordinal));
        Assert.All(requested, url => Assert.True(
            IsOnHost(new Uri(url)),
            $"The page requested {url}; everything it loads must come from {baseAddress.Authority}."));
    }

    [Fact]
    public async Task AKeyEnteredOnThePageIsSentAsTheFunctionKeyHeaderSoTestRequestsReachTheOperations()
    {
        await using var chromium = await HeadlessChromium.StartAsync();
        await chromium.NavigateAsync(new Uri(baseAddress, DocsApi.PagePath));
        await chromium.WaitForTextAsync(["x-functions-key"], TimeSpan.FromSeconds(90));

        // The authentication box's "Value" field, found by its label as a user finds it.
        await chromium.TypeAsync(
            """
            document.querySelector(`input[aria-labelledby="${[...document.querySelectorAll('label')].find(l => l.textContent.trim() === 'Value').id}"]`).focus()
            """,
            ApiHost.FunctionKey);
        try
        {
            await chromium.EvaluateAsync("location.hash = '#tag/users/POST/users'");
            await chromium.WaitForTextAsync([$"x-functions-key: {ApiHost.FunctionKey}"], TimeSpan.FromSeconds(30));

            // On the Functions app the list answers 401 without the key.
            await chromium.ClickButtonAsync("Test Request(get /users)", TimeSpan.FromSeconds(30));
            await chromium.ClickButtonAsync("Send", TimeSpan.FromSeconds(30));
            await chromium.WaitForTextAsync(["200 OK"], TimeSpan.FromSeconds(30));
        }
        finally
        {
            await SaveScreenshotAsync(chromium, "key");
        }

        Assert.All(chromium.RequestedUrls, url => Assert.True(IsOnHost(new Uri(url)), $"The page requested {url}."));
    }

    [Fact]
    public async Task ThePageNamesNoOtherSiteAndItsScriptsComeFromTheHost()
    {
        using var client = new HttpClient { BaseAddress = baseAddress };

        using var redirect = await client.GetAsync($"/{ApiOperations.RoutePrefix}/docs");
        var page = await client.GetStringAsync(DocsApi.PagePath);
        using var script = await client.GetAsync(DocsApi.PagePath + "scalar.js");

        Assert.Equal(DocsApi.PagePath, redirect.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.DoesNotContain("://", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
    }

    private async Task SaveScreenshotAsync(HeadlessChromium chromium, string what)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestResults", $"api-docs-{hostName}-{what}.png");
        await chromium.SaveScreenshotAsync(path);
        output.WriteLine($"Screenshot: {path}");
    }

    private bool IsOnHost(Uri url) =>
        url.Scheme is "data" or "blob" or "about"
        || string.Equals(url.Authority, baseAddress.Authority, StringComparison.OrdinalIgnoreCase);

    /// <summary>The summaries the served document gives the users operations: what the page shows for them.</summary>
    private async Task<string[]> UsersOperationSummariesAsync()
    {
        using var client = new HttpClient { BaseAddress = baseAddress };
        using var document = JsonDocument.Parse(await client.GetStringAsync($"/{ApiOperations.RoutePrefix}/{OpenApiDocumentApi.Route}"));
        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(m => m.Name != "parameters").Select(m => m.Value))
            .ToDictionary(o => o.GetProperty("operationId").GetString()!, o => o.GetProperty("summary").GetString()!);
        return [.. UsersOperations.Select(name => operations[name])];
    }
}

/// <summary>The dev server on a real port (a browser cannot reach a TestServer), on a SQLite database of its own.</summary>
public sealed class KestrelDevServer : IAsyncLifetime, IAsyncDisposable
{
    private readonly SqliteTestDatabase _database = new(pooling: true);
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = await _database.CreateAsync();
        _app = DevServerApp.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
}
