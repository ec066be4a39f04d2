using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace UserFunctions.Core.Http;

/// <summary>Reads a small JSON object body: content type, size limit, strict parsing, each failure a problem response.</summary>
internal static class JsonBody
{
    /// <summary>A user is tiny; 4 KiB leaves room for generous escaping and still stops abuse early.</summary>
    public const int MaxBytes = 4 * 1024;

    public const string MergePatchMediaType = "application/merge-patch+json";

    /// <param name="fingerprint">When given, receives the body's bytes (an <c>Idempotency-Key</c> request's fingerprint).</param>
    public static async ValueTask<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(
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
            return (null, WrongMembers(typeInfo, exception));
        }
        catch (ArgumentException) when (typeof(T) == typeof(JsonObject))
        {
            // A JsonObject reports a member named twice (in any letter case: names are case-insensitive) this way.
            return (null, ApiProblems.MalformedBody("The request body must not name a member twice."));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A merge patch's values (<see cref="JsonMergePatch.Read"/>), or the problem when a member is not one of <paramref name="target"/>'s, of its type or null.</summary>
    public static (TTarget? Values, ProblemHttpResult? Problem) ReadMergePatch<TTarget>(JsonObject patch, JsonTypeInfo<TTarget> target)
        where TTarget : class
    {
        try
        {
            return (JsonMergePatch.Read(patch, target), null);
        }
        catch (JsonException exception)
        {
            return (null, WrongMembers(target, exception));
        }
    }

    /// <summary>The problem for a body whose members do not fit <paramref name="typeInfo"/>: which members are allowed, and where it went wrong.</summary>
    public static ProblemHttpResult WrongMembers(JsonTypeInfo typeInfo, JsonException exception)
    {
        var members = typeInfo.Properties.Count == 0
            ? "a JSON object"
            : "a JSON object with only the members " + string.Join(", ", typeInfo.Properties.Select(p => $"'{p.Name}'")) + ", of their documented types";
        // The exception's message names .NET types; only the JSON path is safe and useful to the caller.
        return ApiProblems.MalformedBody($"The request body must be {members}.", exception.Path);
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
