using System.Net;
using System.Text;

namespace UserFunctions.Tests.OpenApi;

/// <summary>The hook can fail: responses that break a small document of its own are refused, conforming ones pass.</summary>
public sealed class ConformanceHandlerTests
{
    private const string Document = """
        {
          "openapi": "3.1.1",
          "servers": [{ "url": "http://localhost/api" }],
          "paths": {
            "/things/{id}": {
              "get": {
                "operationId": "GetThing",
                "responses": {
                  "200": {
                    "description": "The thing.",
                    "headers": { "ETag": { "required": true, "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } }
                  },
                  "404": { "description": "None.", "content": { "application/problem+json": { "schema": { "type": "object" } } } }
                }
              }
            }
          },
          "components": {
            "schemas": {
              "Thing": { "type": "object", "required": ["id"], "properties": { "id": { "type": "integer", "minimum": 1 } } }
            }
          }
        }
        """;

    [Fact]
    public async Task AConformingResponsePasses()
    {
        using var client = ClientAnswering(HttpStatusCode.OK, """{"id":7}""", "application/json", etag: "\"v1\"");

        using var response = await client.GetAsync("/api/things/7");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(418, """{"id":7}""", "application/json", "\"v1\"", "status 418 is not declared")]
    [InlineData(200, """{"id":0}""", "application/json", "\"v1\"", "does not match the schema")]
    [InlineData(200, """{"name":"x"}""", "application/json", "\"v1\"", "does not match the schema")]
    [InlineData(200, """{"id":7}""", "text/plain", "\"v1\"", "media type text/plain is not declared")]
    [InlineData(200, """{"id":7}""", "application/json", null, "the required header ETag is missing")]
    public async Task AResponseThatBreaksTheDocumentIsRefused(int status, string body, string mediaType, string? etag, string expected)
    {
        using var client = ClientAnswering((HttpStatusCode)status, body, mediaType, etag);

        var exception = await Assert.ThrowsAsync<OpenApiConformanceException>(() => client.GetAsync("/api/things/7"));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARouteTheDocumentDoesNotDescribeIsNotChecked()
    {
        using var client = ClientAnswering(HttpStatusCode.NotFound, "nothing here", "text/plain", etag: null);

        using var response = await client.GetAsync("/api/unknown");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static HttpClient ClientAnswering(HttpStatusCode status, string body, string mediaType, string? etag) =>
        new(new ConformanceHandler(new Answering(status, body, mediaType, etag))) { BaseAddress = new Uri("http://localhost") };

    private sealed class Answering(HttpStatusCode status, string body, string mediaType, string? etag) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/api/openapi.json")
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Document, Encoding.UTF8, "application/json") });
            }

            var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
            if (etag is not null)
            {
                response.Headers.TryAddWithoutValidation("ETag", etag);
            }

            return Task.FromResult(response);
        }
    }
}
