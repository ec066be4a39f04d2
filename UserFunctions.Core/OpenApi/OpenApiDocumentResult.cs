using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace UserFunctions.Core.OpenApi;

/// <summary>The embedded document with <paramref name="serverUrl"/> as its server, written without copying the document.</summary>
public sealed class OpenApiDocumentResult(OpenApiDocumentBytes document, string serverUrl)
    : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public const string ContentType = "application/json";

    public string ServerUrl { get; } = serverUrl;

    public int? StatusCode => StatusCodes.Status200OK;

    string IContentTypeHttpResult.ContentType => ContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var url = JsonEncodedText.Encode(ServerUrl).EncodedUtf8Bytes.ToArray();
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.ContentLength = document.BeforeUrl.Length + 1 + url.Length + 1 + document.AfterUrl.Length;
        var body = response.Body;
        var cancellationToken = httpContext.RequestAborted;
        await body.WriteAsync(document.BeforeUrl, cancellationToken);
        await body.WriteAsync(Quote, cancellationToken);
        await body.WriteAsync(url, cancellationToken);
        await body.WriteAsync(Quote, cancellationToken);
        await body.WriteAsync(document.AfterUrl, cancellationToken);
    }

    private static readonly ReadOnlyMemory<byte> Quote = "\""u8.ToArray();

    /// <summary>What the OpenAPI generator learns from this result type: a 200 with a JSON object.</summary>
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(JsonObject), [ContentType]));
}
