using Azure.Core;
using Npgsql;

namespace UserFunctions.Core.Data;

/// <summary>
/// Entra access tokens from a <see cref="TokenCredential"/> as the password of a passwordless Azure Database for PostgreSQL
/// connection, cached until shortly before they expire (not every credential caches on its own). Npgsql has no Entra sign-in
/// of its own; it asks for the password through its periodic password provider (<see cref="ConfigurePostgreSqlPassword"/>).
/// SQL Server needs none of this: SqlClient signs in with Entra itself (see <see cref="DatabaseOptions.ConnectionString"/>).
/// </summary>
public sealed class AccessTokenProvider(TokenCredential credential, TimeProvider clock) : IDisposable
{
    public const string PostgreSqlScope = "https://ossrdbms-aad.database.windows.net/.default";
    internal static readonly TimeSpan RefreshBeforeExpiry = TimeSpan.FromMinutes(5);

    // Shorter than RefreshBeforeExpiry, so the password Npgsql holds always has minutes left; between renewals this only reads the cache.
    internal static readonly TimeSpan PostgreSqlPasswordRefreshInterval = TimeSpan.FromMinutes(1);
    internal static readonly TimeSpan PostgreSqlPasswordRetryInterval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile CachedToken? _cached;

    /// <summary>Makes Npgsql send an Azure Database for PostgreSQL token as the password, renewed before it expires.</summary>
    public NpgsqlDataSourceBuilder ConfigurePostgreSqlPassword(NpgsqlDataSourceBuilder builder) =>
        builder.UsePeriodicPasswordProvider(GetPostgreSqlPasswordAsync, PostgreSqlPasswordRefreshInterval, PostgreSqlPasswordRetryInterval);

    internal async ValueTask<string> GetPostgreSqlPasswordAsync(NpgsqlConnectionStringBuilder settings, CancellationToken cancellationToken) =>
        (await GetAccessTokenAsync(PostgreSqlScope, cancellationToken).ConfigureAwait(false)).Token;

    internal async ValueTask<AccessToken> GetAccessTokenAsync(string scope, CancellationToken cancellationToken)
    {
        if (_cached is { } fresh && fresh.IsFreshFor(scope, clock.GetUtcNow()))
        {
            return fresh.Token;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cached is { } refreshed && refreshed.IsFreshFor(scope, clock.GetUtcNow()))
            {
                return refreshed.Token;
            }

            var token = await credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false);
            _cached = new CachedToken(scope, token);
            return token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    private sealed record CachedToken(string Scope, AccessToken Token)
    {
        public bool IsFreshFor(string scope, DateTimeOffset now) =>
            Scope == scope && now < Token.ExpiresOn - RefreshBeforeExpiry;
    }
}
