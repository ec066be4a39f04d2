using System.Text.Json;
using Microsoft.AspNetCore.Http;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.OpenApi;

/// <summary>
/// Serves the OpenAPI 3.1 document. It is generated from the dev server's endpoints (UserFunctions.DevServer.csproj, docs/api.md)
/// and embedded here, because the Functions host has no minimal-API endpoints to generate from; both hosts serve this copy.
/// </summary>
public static class OpenApiDocumentApi
{
    public const string OperationName = "GetOpenApiDocument";
    public const string Route = "openapi.json";
    public const string ResourceName = "UserFunctions.Core.OpenApi.openapi.json";

    private static readonly Lazy<OpenApiDocumentBytes> Document = new(() =>
    {
        using var stream = typeof(OpenApiDocumentApi).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return OpenApiDocumentBytes.Split(buffer.ToArray());
    });

    /// <summary>The embedded document as generated: its one server is the relative <c>/api</c>.</summary>
    public static ReadOnlyMemory<byte> Generated => Document.Value.Whole;

    public static OpenApiDocumentResult GetOpenApiDocument(HttpRequest request) => new(Document.Value, ServerUrl(request));

    /// <summary>The API's absolute base as the client reached it (<see cref="PublicUrls"/>).</summary>
    internal static string ServerUrl(HttpRequest request) => $"{PublicUrls.Base(request)}/{ApiOperations.RoutePrefix}";
}

/// <summary>The document's bytes, cut around the value of <c>servers[0].url</c> so that each response can put its own there.</summary>
public sealed class OpenApiDocumentBytes
{
    private OpenApiDocumentBytes(ReadOnlyMemory<byte> whole, ReadOnlyMemory<byte> beforeUrl, ReadOnlyMemory<byte> afterUrl)
    {
        Whole = whole;
        BeforeUrl = beforeUrl;
        AfterUrl = afterUrl;
    }

    public ReadOnlyMemory<byte> Whole { get; }

    public ReadOnlyMemory<byte> BeforeUrl { get; }

    public ReadOnlyMemory<byte> AfterUrl { get; }

    public static OpenApiDocumentBytes Split(byte[] document)
    {
        var reader = new Utf8JsonReader(document);
        var (start, end) = FindFirstServerUrl(ref reader)
            ?? throw new InvalidOperationException("The OpenAPI document names no server; regenerate it (docs/api.md).");
        return new OpenApiDocumentBytes(document, document.AsMemory(0, start), document.AsMemory(end));
    }

    // Where the string token of servers[0].url starts and ends (quotes included).
    private static (int Start, int End)? FindFirstServerUrl(ref Utf8JsonReader reader)
    {
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("servers"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUrl = reader.ValueTextEquals("url"u8);
                reader.Read();
                if (isUrl && reader.TokenType == JsonTokenType.String)
                {
                    var start = (int)reader.TokenStartIndex;
                    return (start, (int)reader.BytesConsumed);
                }

                reader.Skip();
            }

            return null;
        }

        return null;
    }
}
