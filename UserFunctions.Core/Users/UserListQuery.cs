using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.Users;

/// <summary>The list's query string: page size, keyset cursor and the exact-match filters.</summary>
internal readonly record struct UserListQuery(int Limit, int AfterId, string? Username, string? Email)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    public string? NormalizedUsername => Username is null ? null : User.Normalize(Username.Trim());

    public string? NormalizedEmail => Email is null ? null : User.Normalize(Email.Trim());

    /// <summary>
    /// False when a filter could never equal a stored value: longer than the column, or holding what validation never lets
    /// in (control characters such as NUL, lone surrogates), which some databases refuse outright rather than match nothing.
    /// </summary>
    public bool CanMatch => CouldBeStored(Username, User.UsernameMaxLength) && CouldBeStored(Email, User.EmailMaxLength);

    public static bool TryRead(HttpRequest request, out UserListQuery query, [NotNullWhen(false)] out ValidationProblem? problem)
    {
        query = default;
        problem = null;
        if (!TryReadLimit(request, out var limit))
        {
            problem = ApiProblems.Validation("limit", $"limit must be a whole number from 1 to {MaxLimit}.");
            return false;
        }

        var afterId = 0;
        if (request.Query.TryGetValue("cursor", out var cursor) && (cursor.Count != 1 || !PageCursor.TryDecode(cursor, out afterId)))
        {
            problem = ApiProblems.Validation("cursor", "cursor is not valid; use the 'next' link of a previous page.");
            return false;
        }

        query = new UserListQuery(limit, afterId, LastValue(request, "username"), LastValue(request, "email"));
        return true;
    }

    public string NextPageLink(HttpRequest request, int lastId)
    {
        // Absolute: generated clients follow the link as given (docs/api.md).
        var link = new StringBuilder(PublicUrls.Base(request)).Append(request.Path.ToUriComponent().TrimEnd('/'))
            .Append("?limit=").Append(Limit.ToString(CultureInfo.InvariantCulture));
        if (Username is not null)
        {
            link.Append("&username=").Append(Uri.EscapeDataString(Username));
        }

        if (Email is not null)
        {
            link.Append("&email=").Append(Uri.EscapeDataString(Email));
        }

        return link.Append("&cursor=").Append(PageCursor.Encode(lastId)).ToString();
    }

    private static bool TryReadLimit(HttpRequest request, out int limit)
    {
        limit = DefaultLimit;
        if (!request.Query.TryGetValue("limit", out var values))
        {
            return true;
        }

        return values.Count == 1
            && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit)
            && limit is >= 1 and <= MaxLimit;
    }

    private static string? LastValue(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) ? values[^1] : null;

    private static bool CouldBeStored(string? filter, int maxLength)
    {
        if (filter is null)
        {
            return true;
        }

        var trimmed = filter.AsSpan().Trim();
        return trimmed.Length <= maxLength && UserValidation.IsStorableText(trimmed);
    }
}
