using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace UserFunctions.Core.OpenApi;

/// <summary>
/// Serves the OpenAPI 3.1 description of docs/contract.md. It is a reviewed document embedded in Core rather than one generated
/// from endpoint metadata, because the Functions host has no minimal-API endpoints to generate from; tests check that it
/// lists every operation of <see cref="Users.ApiOperations"/> with its status codes and problem bodies.
/// </summary>
public static class OpenApiApi
{
    public const string ResourceName = "UserFunctions.Core.OpenApi.openapi.json";

    private static readonly Lazy<byte[]> Document = new(() =>
    {
        using var stream = typeof(OpenApiApi).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    });

    public static IResult GetOpenApiDocument() => TypedResults.Bytes(Document.Value, "application/json");
}
