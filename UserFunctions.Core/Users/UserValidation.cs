using System.Buffers;

namespace UserFunctions.Core.Users;

public static class UserValidation
{
    public const int UsernameMinLength = 3;

    private static readonly SearchValues<char> UsernameCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    // Characters that only appear in quoted local parts, display names or comments, none of which a plain address has.
    private static readonly SearchValues<char> NotInPlainAddress = SearchValues.Create("<>()[]\\,;:\"");

    private static readonly Func<string, bool> EveryMember = static _ => true;

    /// <summary>
    /// False for text no database stores as sent: control characters (PostgreSQL refuses NUL outright) and lone surrogates
    /// (not encodable as UTF-8). Validation lets none in, so a filter holding one can never match.
    /// </summary>
    public static bool IsStorableText(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[++i]))))
            {
                return false;
            }
        }

        return true;
    }

    /// <returns>The request with its values trimmed, or the errors keyed by member name.</returns>
    public static bool TryValidate(UserRequest request, out UserRequest valid, out Dictionary<string, string[]> errors) =>
        TryValidate(request, EveryMember, out valid, out errors);

    /// <summary>
    /// Validates the members a merge patch names (<paramref name="named"/>, by JSON name); the others stay null in
    /// <paramref name="valid"/>, and the write keeps them as stored. Each rule judges its member alone, so the verdict on the
    /// members named is the verdict on the merged user: the stored members passed the same rules when they were written.
    /// </summary>
    /// <param name="request">The patch's values: a member it sets to null (removes) is null, and required.</param>
    public static bool TryValidate(UserRequest request, Func<string, bool> named, out UserRequest valid, out Dictionary<string, string[]> errors)
    {
        var found = new Dictionary<string, string[]>();
        // One line a member: its JSON name, its trimmed value, its rule.
        valid = new UserRequest(
            Username: Checked(found, named, "username", request.Username, UsernameError),
            Email: Checked(found, named, "email", request.Email, EmailError));
        errors = found;
        return errors.Count == 0;
    }

    private static string? Checked(Dictionary<string, string[]> errors, Func<string, bool> named, string member, string? value, Func<string?, string?> rule)
    {
        if (!named(member))
        {
            return null;
        }

        var trimmed = value?.Trim();
        if (rule(trimmed) is { } error)
        {
            errors[member] = [error];
        }

        return trimmed;
    }

    private static string? UsernameError(string? username) => username switch
    {
        null or "" => "Username is required.",
        { Length: < UsernameMinLength or > User.UsernameMaxLength } =>
            $"Username must be {UsernameMinLength} to {User.UsernameMaxLength} characters long.",
        _ when username.AsSpan().ContainsAnyExcept(UsernameCharacters) =>
            "Username may contain only the letters A-Z and a-z, the digits 0-9, '.', '_' and '-'.",
        _ => null,
    };

    private static string? EmailError(string? email) => email switch
    {
        null or "" => "Email is required.",
        { Length: > User.EmailMaxLength } => $"Email must be at most {User.EmailMaxLength} characters long.",
        _ when !IsPlainAddress(email) => "Email must be a plain address such as name@example.com.",
        _ => null,
    };

    // local@domain: exactly one '@', no white space or control characters, no display-name or quoting characters,
    // a domain of two or more non-empty labels of letters, digits and '-'.
    private static bool IsPlainAddress(string email)
    {
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1)
        {
            return false;
        }

        if (!IsStorableText(email) || email.Any(char.IsWhiteSpace))
        {
            return false;
        }

        var local = email.AsSpan(0, at);
        if (local.ContainsAny(NotInPlainAddress) || local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var domain = email.AsSpan(at + 1);
        var labels = 0;
        foreach (var range in domain.Split('.'))
        {
            var label = domain[range];
            if (label.IsEmpty || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!char.IsLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }

            labels++;
        }

        return labels >= 2;
    }
}
