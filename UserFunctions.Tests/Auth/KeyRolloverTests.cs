using System.Net;
using UserFunctions.Core.Auth;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Auth;

/// <summary>
/// Signing key rollover without a restart, on both hosts and databases. Each class has a host of its own: the validator
/// asks the authority again when a token names a key it does not know, but no more often than its refresh interval, and
/// another test's forged or foreign tokens must not have used that chance first.
/// </summary>
public abstract class KeyRolloverTests(EntraIdApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(EntraIdDevServerOnSqlite host) : KeyRolloverTests(host), IClassFixture<EntraIdDevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(EntraIdFunctionsOnSqlite host) : KeyRolloverTests(host), IClassFixture<EntraIdFunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(EntraIdDevServerOnPostgreSql host) : KeyRolloverTests(host), IClassFixture<EntraIdDevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(EntraIdFunctionsOnPostgreSql host) : KeyRolloverTests(host), IClassFixture<EntraIdFunctionsOnPostgreSql>;

    private static readonly string[] Reader = [ApiRoles.Read];

    private TestAuthority Authority { get; } = host.Authority;

    [Fact]
    public async Task ATokenSignedWithANewlyPublishedKeyIsAcceptedWithoutARestart()
    {
        var oldToken = Authority.Token(Reader);
        using (var before = await ListAsync(oldToken))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var keySetFetches = Authority.KeySetRequests;
        Assert.True(keySetFetches >= 1, "The host read the authority's keys to validate the first token.");

        Authority.RollOverSigningKey();
        var newToken = Authority.Token(Reader);

        // The host still holds the old key set; the new token's unknown kid makes it fetch the keys again.
        var attempts = 0;
        await Poll.UntilAsync(async () =>
        {
            attempts++;
            using var response = await ListAsync(newToken);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"Unexpected {(int)response.StatusCode}.");
            return response.StatusCode == HttpStatusCode.OK;
        });

        Assert.True(Authority.KeySetRequests > keySetFetches, "The new key was found by fetching the key set again.");
        Assert.True(attempts <= 3, $"The new key took {attempts} requests to be picked up.");
        // The old key stays published, so tokens it signed before the rollover still work.
        using var old = await ListAsync(oldToken);
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
    }

    private Task<HttpResponseMessage> ListAsync(string token) =>
        SendAsync(HttpMethod.Get, "/api/users", configure: EntraIdTests.Bearer(token));
}
