using System.Data.Common;
using Azure.Core;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace UserFunctions.Core.Data;

/// <summary>
/// Entra access tokens from a <see cref="TokenCredential"/> for passwordless database sign-in, cached until shortly before
/// they expire (not every credential caches on its own). SqlClient gets them through <see cref="Callback"/>: it keys its
/// connection pool on the callback instance, so every connection gets the same delegate. Npgsql gets them as the password,
/// through its periodic password provider (<see cref="ConfigurePostgreSqlPassword"/>).
/// </summary>
public sealed class AccessTokenProvider : IDisposable
{
    public const string DefaultScope = "https://database.windows.net/.default";
    public const string PostgreSqlScope = "https://ossrdbms-aad.database.windows.net/.default";
    internal static readonly TimeSpan RefreshBeforeExpiry = TimeSpan.FromMinutes(5);

    // Shorter than RefreshBeforeExpiry, so the password Npgsql holds always has minutes left; between renewals this only reads the cache.
    internal static readonly TimeSpan PostgreSqlPasswordRefreshInterval = TimeSpan.FromMinutes(1);
    internal static readonly TimeSpan PostgreSqlPasswordRetryInterval = TimeSpan.FromSeconds(5);

    private readonly TokenCredential _credential;
    private readonly TimeProvider _clock;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile CachedToken? _cached;

    public AccessTokenProvider(TokenCredential credential, TimeProvider clock)
    {
        _credential = credential;
        _clock = clock;
        Callback = GetTokenAsync;
    }

    public Func<SqlAuthenticationParameters, CancellationToken, Task<SqlAuthenticationToken>> Callback { get; }

    private async Task<SqlAuthenticationToken> GetTokenAsync(SqlAuthenticationParameters parameters, CancellationToken cancellationToken)
    {
        var token = await GetAccessTokenAsync(ScopeFor(parameters.Resource), cancellationToken).ConfigureAwait(false);
        return new SqlAuthenticationToken(token.Token, token.ExpiresOn);
    }

    /// <summary>Makes Npgsql send an Azure Database for PostgreSQL token as the password, renewed before it expires.</summary>
    public NpgsqlDataSourceBuilder ConfigurePostgreSqlPassword(NpgsqlDataSourceBuilder builder) =>
        builder.UsePeriodicPasswordProvider(GetPostgreSqlPasswordAsync, PostgreSqlPasswordRefreshInterval, PostgreSqlPasswordRetryInterval);

    internal async ValueTask<string> GetPostgreSqlPasswordAsync(NpgsqlConnectionStringBuilder settings, CancellationToken cancellationToken) =>
        (await GetAccessTokenAsync(PostgreSqlScope, cancellationToken).ConfigureAwait(false)).Token;

    internal async ValueTask<AccessToken> GetAccessTokenAsync(string scope, CancellationToken cancellationToken)
    {
        if (_cached is { } fresh && fresh.IsFreshFor(scope, _clock.GetUtcNow()))
        {
            return fresh.Token;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cached is { } refreshed && refreshed.IsFreshFor(scope, _clock.GetUtcNow()))
            {
                return refreshed.Token;
            }

            var token = await _credential.GetTokenAsync(new TokenRequestContext([scope]), cancellationToken).ConfigureAwait(false);
            _cached = new CachedToken(scope, token);
            return token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();

    // SqlClient names the resource of the server it talks to (public cloud, sovereign clouds); fall back to Azure SQL's.
    internal static string ScopeFor(string? resource) =>
        string.IsNullOrWhiteSpace(resource) ? DefaultScope : resource.TrimEnd('/') + "/.default";

    private sealed record CachedToken(string Scope, AccessToken Token)
    {
        public bool IsFreshFor(string scope, DateTimeOffset now) =>
            Scope == scope && now < Token.ExpiresOn - RefreshBeforeExpiry;
    }
}

/// <summary>Hands every SqlConnection EF Core creates the shared access-token callback.</summary>
internal sealed class SqlAccessTokenInterceptor(AccessTokenProvider tokens) : DbConnectionInterceptor
{
    public override DbConnection ConnectionCreated(ConnectionCreatedEventData eventData, DbConnection result)
    {
        if (result is SqlConnection connection)
        {
            connection.AccessTokenCallback = tokens.Callback;
        }

        return result;
    }
}
