using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace UserFunctions.Core.Http;

/// <summary>Strong ETags from a user's version, and the If-Match / If-None-Match checks (RFC 9110 section 13).</summary>
internal static class ETags
{
    public static string For(Guid version) => $"\"{version:N}\"";

    public static void Set(HttpResponse response, Guid version) => response.Headers.ETag = For(version);

    public static bool HasIfMatch(HttpRequest request) => request.Headers.IfMatch.Count > 0;

    /// <summary>True when the request has no If-Match, or one that matches <paramref name="version"/> (strong comparison).</summary>
    public static bool IfMatchAllows(HttpRequest request, Guid version) =>
        !HasIfMatch(request) || Matches(request.Headers.IfMatch, version, useStrongComparison: true);

    /// <summary>True when If-None-Match names the current version (weak comparison) or is <c>*</c>.</summary>
    public static bool IfNoneMatchHits(HttpRequest request, Guid version) =>
        request.Headers.IfNoneMatch.Count > 0 && Matches(request.Headers.IfNoneMatch, version, useStrongComparison: false);

    // A header that does not parse matches nothing: for If-Match that fails safe (412, never an unconditional write).
    private static bool Matches(StringValues header, Guid version, bool useStrongComparison)
    {
        var current = new EntityTagHeaderValue(For(version));
        return EntityTagHeaderValue.TryParseList(header, out var tags)
            && tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison));
    }
}
