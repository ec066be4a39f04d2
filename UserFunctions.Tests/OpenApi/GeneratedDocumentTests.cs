using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;
using UserFunctions.DevServer;
using UserFunctions.DevServer.OpenApi;

namespace UserFunctions.Tests.OpenApi;

/// <summary>
/// The embedded document (what both hosts serve) is the dev server's generated one, and it is valid OpenAPI. The HTTP side
/// (operations, statuses, servers per host) is in <c>Api/OpenApiDocumentTests</c>.
/// </summary>
public sealed class GeneratedDocumentTests
{
    private const string Regenerate = "dotnet build UserFunctions.DevServer -p:OpenApiGenerateDocuments=true";

    [Fact]
    public async Task TheCheckedInDocumentIsWhatTheDevServerGeneratesNow()
    {
        var generated = JsonNode.Parse(await GenerateAsync());
        var checkedIn = JsonNode.Parse(OpenApiDocumentApi.Generated.Span);

        Assert.True(JsonNode.DeepEquals(generated, checkedIn), $"UserFunctions.Core/OpenApi/openapi.json is stale; run: {Regenerate}");
    }

    [Fact]
    public void TheDocumentPassesMicrosoftOpenApisReaderAndValidationRules()
    {
        using var stream = new MemoryStream(OpenApiDocumentApi.Generated.ToArray());
        var read = OpenApiDocument.Load(stream, OpenApiConstants.Json, new OpenApiReaderSettings());

        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic.SpecificationVersion);
        Assert.Empty(read.Document!.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);
    }

    [Fact]
    public void TheUsernamePatternAcceptsExactlyTheCharactersValidationAccepts()
    {
        for (var c = (char)0x21; c < 0x7F; c++)
        {
            var username = $"ab{c}";
            var valid = UserValidation.TryValidate(new UserRequest(username, "a@example.com"), out _, out var errors) || !errors.ContainsKey("username");
            Assert.True(valid == Regex.IsMatch(username, UsersApiDocument.UsernamePattern), $"'{c}': validation says {valid}.");
        }
    }

    [Fact]
    public async Task TheServedDocumentDiffersFromTheGeneratedOneOnlyInItsServerUrl()
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("users.example.test", 8443);
        var body = new MemoryStream();
        context.Response.Body = body;

        await OpenApiDocumentApi.GetOpenApiDocument(context.Request).ExecuteAsync(context);

        Assert.Equal(body.Length, context.Response.ContentLength);
        Assert.Equal("application/json", context.Response.ContentType);
        var served = JsonNode.Parse(body.ToArray())!;
        Assert.Equal("https://users.example.test:8443/api", (string?)served["servers"]![0]!["url"]);
        served["servers"]![0]!["url"] = "/api";
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(OpenApiDocumentApi.Generated.Span), served));
    }

    [Theory]
    [InlineData(null, null, "http://worker:5000/api")]
    [InlineData("https", "users.example.test", "https://users.example.test/api")]
    [InlineData("https, http", "front.example.test, functions.example.test:443", "https://front.example.test/api")]
    [InlineData("gopher", "users.example.test:8443", "http://users.example.test:8443/api")]
    public void TheServerIsTheForwardedOneWhereAProxySetIt(string? proto, string? host, string expected)
    {
        var request = new DefaultHttpContext().Request;
        request.Scheme = "http";
        request.Host = new HostString("worker", 5000);
        if (proto is not null)
        {
            request.Headers["X-Forwarded-Proto"] = proto;
        }

        if (host is not null)
        {
            request.Headers["X-Forwarded-Host"] = host;
        }

        Assert.Equal(expected, OpenApiDocumentApi.ServerUrl(request));
    }

    /// <summary>
    /// What the build writes: GetDocument runs the same app up to its start and uses the same serializer. The app must start
    /// (here on a test server) because a WebApplication hands its endpoints to routing only then.
    /// </summary>
    private static async Task<string> GenerateAsync()
    {
        var database = Path.Combine(Path.GetTempPath(), $"openapi-{Guid.NewGuid():N}.db");
        try
        {
            await using var app = DevServerApp.Build([], builder =>
            {
                builder.WebHost.UseTestServer();
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Database:Provider"] = "Sqlite",
                    ["ConnectionStrings:Users"] = $"Data Source={database};Pooling=False",
                    ["Logging:LogLevel:Default"] = "Warning",
                });
            });
            await app.StartAsync();
            var provider = app.Services.GetRequiredKeyedService<IOpenApiDocumentProvider>(UsersApiDocument.DocumentName);
            var document = await provider.GetOpenApiDocumentAsync();
            return await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1);
        }
        finally
        {
            File.Delete(database);
        }
    }
}
