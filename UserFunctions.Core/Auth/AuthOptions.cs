using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace UserFunctions.Core.Auth;

/// <summary>Who may call the users operations (docs/auth.md).</summary>
public enum AuthMode
{
    /// <summary>Whoever holds a function key may do everything: the Functions host checks the key, the app nothing more.</summary>
    FunctionKeys,

    /// <summary>Every users operation also needs a Microsoft Entra ID access token carrying the operation's app role.</summary>
    EntraId,
}

/// <summary>The <c>Auth</c> settings: <c>Auth__Mode</c>, <c>Auth__Authority</c>, <c>Auth__Audience</c>, <c>Auth__RequireHttpsMetadata</c>.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.FunctionKeys;

    /// <summary>The token issuer whose OpenID metadata names the issuer and signing keys: <c>https://login.microsoftonline.com/{tenant}/v2.0</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>The <c>aud</c> the tokens must carry: the API's application (client) id, as in v2 tokens.</summary>
    public string? Audience { get; set; }

    /// <summary>Off only for a local test authority on plain HTTP; a deployment never turns it off.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// The settings when <paramref name="configuration"/> asks for Entra ID mode, else null: what a host registers
    /// (the JwtBearer handler, the Functions app's authorization middleware) is decided at start-up from this alone.
    /// </summary>
    public static AuthOptions? EntraIdSettings(IConfiguration configuration) =>
        configuration.GetSection(SectionName).Get<AuthOptions>() is { Mode: AuthMode.EntraId } settings ? settings : null;
}

/// <summary>Checked on start, so that a misconfigured app fails to start with a clear message instead of answering 500s.</summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (options.Mode != AuthMode.EntraId)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
        {
            failures.Add("Auth:Authority must be the absolute URL of the token issuer, e.g. https://login.microsoftonline.com/{tenant}/v2.0.");
        }
        else if (authority.Scheme != "https" && options.RequireHttpsMetadata)
        {
            failures.Add($"Auth:Authority must use HTTPS ({options.Authority}); only a local test authority may use HTTP, with Auth:RequireHttpsMetadata=false.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            failures.Add("Auth:Audience must be set to the API's application (client) id, the aud of its v2 access tokens.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
