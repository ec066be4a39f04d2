using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace UserFunctions.Core.Http;

/// <summary>Reads a small JSON object body: content type, size limit, strict parsing, each failure a problem response.</summary>
internal static class JsonBody
{
    /// <summary>A user is tiny; 4 KiB leaves room for generous escaping and still stops abuse early.</summary>
    public const int MaxBytes = 4 * 1024;

    public const string MergePatchMediaType = "application/merge-patch+json";

    /// <param name="fingerprint">When given, receives the body's bytes (an <c>Idempotency-Key</c> request's fingerprint).</param>
    public static async ValueTask<(T? Value, IResult? Problem)> ReadAsync<T>(
        HttpRequest request, JsonTypeInfo<T> typeInfo, bool allowMergePatch = false, IncrementalHash? fingerprint = null)
        where T : class
    {
        if (!IsAcceptedContentType(request.ContentType, allowMergePatch))
        {
            return (null, ApiProblems.UnsupportedMediaType(allowMergePatch));
        }

        if (request.ContentLength > MaxBytes)
        {
            return (null, ApiProblems.PayloadTooLarge());
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 1);
        try
        {
            var length = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length, MaxBytes + 1 - length), request.HttpContext.RequestAborted)) > 0)
            {
                length += read;
                if (length > MaxBytes)
                {
                    return (null, ApiProblems.PayloadTooLarge());
                }
            }

            if (length == 0)
            {
                return (null, ApiProblems.MalformedBody("The request body is empty; send a JSON object."));
            }

            fingerprint?.AppendData(buffer, 0, length);
            var value = JsonSerializer.Deserialize(buffer.AsSpan(0, length), typeInfo);
            return value is null
                ? (null, ApiProblems.MalformedBody("The request body must be a JSON object, not null."))
                : (value, null);
        }
        catch (JsonException exception)
        {
            // The exception's message names .NET types; only the JSON path is safe and useful to the caller.
            return (null, ApiProblems.MalformedBody(
                "The request body must be a JSON object with only the string members 'username' and 'email'.", exception.Path));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsAcceptedContentType(string? contentType, bool allowMergePatch)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return false;
        }

        if (mediaType.Charset.HasValue && !mediaType.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (allowMergePatch && mediaType.MediaType.Equals(MergePatchMediaType, StringComparison.OrdinalIgnoreCase));
    }
}
