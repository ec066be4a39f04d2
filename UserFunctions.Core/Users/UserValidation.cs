using System.Buffers;

namespace UserFunctions.Core.Users;

/// <summary>A username and email that passed the contract's rules, trimmed.</summary>
public readonly record struct ValidUser(string Username, string Email);

public static class UserValidation
{
    public const int UsernameMinLength = 3;

    private static readonly SearchValues<char> UsernameCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    // Characters that only appear in quoted local parts, display names or comments, none of which a plain address has.
    private static readonly SearchValues<char> NotInPlainAddress = SearchValues.Create("<>()[]\\,;:\"");

    /// <returns>The trimmed values, or the errors keyed by field (<c>username</c>, <c>email</c>).</returns>
    public static bool TryValidate(string? username, string? email, out ValidUser user, out Dictionary<string, string[]> errors)
    {
        errors = [];
        var trimmedUsername = username?.Trim();
        var trimmedEmail = email?.Trim();

        if (UsernameError(trimmedUsername) is { } usernameError)
        {
            errors["username"] = [usernameError];
        }

        if (EmailError(trimmedEmail) is { } emailError)
        {
            errors["email"] = [emailError];
        }

        user = errors.Count == 0 ? new ValidUser(trimmedUsername!, trimmedEmail!) : default;
        return errors.Count == 0;
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

        foreach (var c in email)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
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
