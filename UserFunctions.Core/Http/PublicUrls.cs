using Microsoft.AspNetCore.Http;

namespace UserFunctions.Core.Http;

/// <summary>
/// Absolute URLs as the client reached the API. Behind the Functions host (and any proxy in front of it) the request's own
/// scheme and host are the worker's, so the forwarded ones win where the proxy set them. Links are absolute because
/// generated clients follow them as given and do not resolve relative ones (docs/api.md).
/// </summary>
internal static class PublicUrls
{
    private const string ForwardedHost = "X-Forwarded-Host";
    private const string ForwardedProto = "X-Forwarded-Proto";

    /// <summary>Scheme, host and port, and the path base: <c>https://example.net</c>.</summary>
    public static string Base(HttpRequest request)
    {
        var proto = FirstForwarded(request, ForwardedProto);
        var scheme = proto is "http" or "https" ? proto : request.Scheme;
        var host = FirstForwarded(request, ForwardedHost) is { Length: > 0 } forwarded ? forwarded : request.Host.ToUriComponent();
        return $"{scheme}://{host}{request.PathBase.ToUriComponent()}";
    }

    // Each proxy appends its own value: the first one is what the client used.
    private static string? FirstForwarded(HttpRequest request, string header) =>
        request.Headers[header].ToString() is { Length: > 0 } values ? values.Split(',')[0].Trim() : null;
}
