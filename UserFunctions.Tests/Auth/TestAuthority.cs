using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace UserFunctions.Tests.Auth;

/// <summary>
/// A token issuer of the tests' own, standing in for Microsoft Entra ID: RSA keys made when it starts, its OpenID metadata
/// and key set (JWKS) served on loopback over HTTP, and access tokens shaped like Entra ID's v2 ones.
/// </summary>
public sealed class TestAuthority : IAsyncDisposable
{
    /// <summary>The API's application (client) id: the <c>aud</c> of v2 access tokens.</summary>
    public const string Audience = "3f8d6c2a-5b1e-4f7a-9c3d-2e4b6a8f0c1d";

    private const string TenantId = "7c1b2a3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    private readonly List<RSA> _rsas = [];
    private readonly JsonWebTokenHandler _tokens = new();
    private volatile IReadOnlyList<RsaSecurityKey> _published;
    private WebApplication? _app;
    private int _keySetRequests;

    public TestAuthority()
    {
        SigningKey = NewKey();
        _published = [SigningKey];
    }

    /// <summary>Like Entra ID's: <c>{base}/{tenant}/v2.0</c>, the issuer of its tokens too.</summary>
    public string Authority { get; private set; } = "";

    /// <summary>The key new tokens are signed with.</summary>
    public RsaSecurityKey SigningKey { get; private set; }

    /// <summary>How often the key set has been fetched.</summary>
    public int KeySetRequests => Volatile.Read(ref _keySetRequests);

    /// <summary>The settings that make a host trust this authority (configuration-key form).</summary>
    public IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "EntraId",
        ["Auth:Authority"] = Authority,
        ["Auth:Audience"] = Audience,
        // Loopback HTTP: allowed only because the tests say so; the default refuses it.
        ["Auth:RequireHttpsMetadata"] = "false",
    };

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet($"/{TenantId}/v2.0/.well-known/openid-configuration", () => Results.Text(Metadata(), "application/json"));
        _app.MapGet($"/{TenantId}/discovery/v2.0/keys", () =>
        {
            Interlocked.Increment(ref _keySetRequests);
            return Results.Text(KeySet(), "application/json");
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        Authority = $"{address}/{TenantId}/v2.0";
    }

    /// <summary>
    /// Key rollover: a new signing key joins the published set (the old one stays, as Entra ID keeps it until its tokens
    /// expire), and new tokens are signed with it.
    /// </summary>
    public void RollOverSigningKey()
    {
        SigningKey = NewKey();
        _published = [.. _published, SigningKey];
    }

    /// <summary>A valid access token with these app roles, unless a test changes one of its parts.</summary>
    public string Token(
        string[] roles,
        string? issuer = null,
        string? audience = null,
        DateTime? expires = null,
        SecurityKey? signingKey = null)
    {
        var now = DateTime.UtcNow;
        var expiresAt = expires ?? now.AddHours(1);
        return _tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Authority,
            Audience = audience ?? Audience,
            IssuedAt = expiresAt.AddHours(-1),
            NotBefore = expiresAt.AddHours(-1),
            Expires = expiresAt,
            Claims = new Dictionary<string, object>
            {
                ["ver"] = "2.0",
                ["tid"] = TenantId,
                ["oid"] = "0a1b2c3d-0000-4000-8000-000000000001",
                ["sub"] = "caller-subject",
                ["azp"] = "0a1b2c3d-0000-4000-8000-0000000000aa",
                ["roles"] = roles,
            },
            SigningCredentials = new SigningCredentials(signingKey ?? SigningKey, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>A key that is not the authority's, under the <c>kid</c> of its current one: a forged signature.</summary>
    public RsaSecurityKey ForgedKey()
    {
        var rsa = RSA.Create(2048);
        _rsas.Add(rsa);
        return new RsaSecurityKey(rsa) { KeyId = SigningKey.KeyId };
    }

    /// <summary>The claims of a valid token, unsigned (<c>alg: none</c>).</summary>
    public string UnsignedToken(string[] roles)
    {
        var payload = Token(roles).Split('.')[1];
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        return $"{header}.{payload}.";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        foreach (var rsa in _rsas)
        {
            rsa.Dispose();
        }
    }

    private RsaSecurityKey NewKey()
    {
        var rsa = RSA.Create(2048);
        _rsas.Add(rsa);
        return new RsaSecurityKey(rsa) { KeyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) };
    }

    private string Metadata() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["issuer"] = Authority,
        ["jwks_uri"] = Authority.Replace("/v2.0", "/discovery/v2.0/keys", StringComparison.Ordinal),
        ["authorization_endpoint"] = Authority.Replace("/v2.0", "/oauth2/v2.0/authorize", StringComparison.Ordinal),
        ["token_endpoint"] = Authority.Replace("/v2.0", "/oauth2/v2.0/token", StringComparison.Ordinal),
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
    });

    private string KeySet()
    {
        var keys = _published.Select(key =>
        {
            var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
            return new Dictionary<string, string>
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["kid"] = key.KeyId,
                ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
            };
        });
        return JsonSerializer.Serialize(new { keys });
    }
}
