using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace UserFunctions.Core.Http;

/// <summary>Strong ETags from a user's version, and the If-Match / If-None-Match checks (RFC 9110 section 13).</summary>
internal static class ETags
{
    public static string For(Guid version) => $"\"{version:N}\"";

    public static void Set(HttpResponse response, Guid version) => response.Headers.ETag = For(version);

    /// <summary>True when the request has no If-Match, or one that matches <paramref name="version"/> (strong comparison).</summary>
    public static bool IfMatchAllows(HttpRequest request, Guid version)
    {
        if (request.Headers.IfMatch.Count == 0)
        {
            return true;
        }

        // An If-Match that does not parse matches nothing: failing safe means 412, never an unconditional write.
        var current = new EntityTagHeaderValue(For(version));
        return EntityTagHeaderValue.TryParseList(request.Headers.IfMatch, out var tags)
            && tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: true));
    }

    public static bool HasIfMatch(HttpRequest request) => request.Headers.IfMatch.Count > 0;

    /// <summary>True when If-None-Match names the current version (weak comparison) or is <c>*</c>.</summary>
    public static bool IfNoneMatchHits(HttpRequest request, Guid version)
    {
        if (request.Headers.IfNoneMatch.Count == 0)
        {
            return false;
        }

        var current = new EntityTagHeaderValue(For(version));
        return EntityTagHeaderValue.TryParseList(request.Headers.IfNoneMatch, out var tags)
            && tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));
    }
}
