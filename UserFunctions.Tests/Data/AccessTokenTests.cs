using Azure.Core;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Moq;
using Npgsql;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

public class AccessTokenTests
{
    private const string AzureSqlResource = "https://database.windows.net/";
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TheCallbackAsksTheCredentialForTheAzureSqlScopeAndReturnsItsToken()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var tokens = new AccessTokenProvider(credential.Object, ClockAt(Start).Object);

        var token = await tokens.Callback(new TestAuthenticationParameters(AzureSqlResource), CancellationToken.None);

        Assert.Equal("token-1", token.AccessToken);
        Assert.Equal(Start.AddHours(1), token.ExpiresOn);
        credential.Verify(c => c.GetTokenAsync(
            It.Is<TokenRequestContext>(r => r.Scopes.SequenceEqual(new[] { "https://database.windows.net/.default" })),
            It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task AFreshTokenIsServedFromTheCacheAndANearlyExpiredOneIsRenewed()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)), ("token-2", Start.AddHours(2)));
        var clock = ClockAt(Start);
        using var tokens = new AccessTokenProvider(credential.Object, clock.Object);
        var parameters = new TestAuthenticationParameters(AzureSqlResource);

        var first = await tokens.Callback(parameters, CancellationToken.None);
        clock.Setup(c => c.GetUtcNow()).Returns(Start.AddMinutes(50)); // 10 minutes left: still fresh
        var second = await tokens.Callback(parameters, CancellationToken.None);
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Once);

        clock.Setup(c => c.GetUtcNow()).Returns(Start.AddMinutes(56)); // 4 minutes left: renew
        var third = await tokens.Callback(parameters, CancellationToken.None);

        Assert.Equal(["token-1", "token-1", "token-2"], new[] { first.AccessToken, second.AccessToken, third.AccessToken });
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task ConcurrentCallersShareOneCredentialCall()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var tokens = new AccessTokenProvider(credential.Object, ClockAt(Start).Object);

        var results = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => Task.Run(() => tokens.Callback(new TestAuthenticationParameters(AzureSqlResource), CancellationToken.None))));

        Assert.All(results, token => Assert.Equal("token-1", token.AccessToken));
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public void APasswordlessConnectionStringGetsTheSharedCallbackOnEveryConnection()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var services = SqlServerServices("Server=tcp:example.database.windows.net,1433;Database=users;Encrypt=True", credential.Object);
        var tokens = services.GetRequiredService<AccessTokenProvider>();

        var connections = Enumerable.Range(0, 2).Select(_ =>
        {
            using var scope = services.CreateScope();
            return (SqlConnection)scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.GetDbConnection();
        }).ToList();

        Assert.All(connections, connection => Assert.Same(tokens.Callback, connection.AccessTokenCallback));
    }

    [Theory]
    [InlineData("Server=tcp:example.database.windows.net;Database=users;Authentication=Active Directory Default")]
    [InlineData("Server=tcp:example.database.windows.net;Database=users;Authentication=Active Directory Managed Identity;User Id=00000000-0000-0000-0000-000000000001")]
    [InlineData("Server=localhost;Database=users;User Id=sa;Password=not-a-real-password;TrustServerCertificate=True")]
    public void AConnectionStringThatAlreadyAuthenticatesIsPassedThroughUntouched(string connectionString)
    {
        using var services = SqlServerServices(connectionString, new Mock<TokenCredential>(MockBehavior.Strict).Object);
        using var scope = services.CreateScope();

        var connection = (SqlConnection)scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.GetDbConnection();

        Assert.Null(connection.AccessTokenCallback);
        Assert.Null(services.GetService<AccessTokenProvider>());
    }

    [Fact]
    public async Task ThePostgreSqlPasswordIsATokenForAzureDatabaseForPostgreSql()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var tokens = new AccessTokenProvider(credential.Object, ClockAt(Start).Object);

        var password = await tokens.GetPostgreSqlPasswordAsync(new NpgsqlConnectionStringBuilder(), CancellationToken.None);

        Assert.Equal("token-1", password);
        credential.Verify(c => c.GetTokenAsync(
            It.Is<TokenRequestContext>(r => r.Scopes.SequenceEqual(new[] { "https://ossrdbms-aad.database.windows.net/.default" })),
            It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public void NpgsqlHoldsEachPasswordForLessTimeThanTheTokenHasLeft() =>
        Assert.True(AccessTokenProvider.PostgreSqlPasswordRefreshInterval < AccessTokenProvider.RefreshBeforeExpiry);

    [Fact]
    public async Task APasswordlessPostgreSqlConnectionSignsInWithTheCredentialsToken()
    {
        // A real server: a role whose password is the token, so only the token can sign it in.
        var token = $"token-{Guid.NewGuid():N}";
        var role = $"entra_{Guid.NewGuid():N}";
        var server = await PostgresServer.GetAsync();
        await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE ROLE \"{role}\" LOGIN PASSWORD '{token}'", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("tokens")) { Username = role, Password = null }.ConnectionString;
        var credential = CredentialReturning((token, DateTimeOffset.UtcNow.AddHours(1)));
        await using var services = PostgreSqlServices(connectionString, credential.Object);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

        var user = await db.Database.SqlQueryRaw<string>("SELECT current_user AS \"Value\"").SingleAsync();

        Assert.Equal(role, user);
        credential.Verify(c => c.GetTokenAsync(
            It.Is<TokenRequestContext>(r => r.Scopes.SequenceEqual(new[] { AccessTokenProvider.PostgreSqlScope })),
            It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task APostgreSqlConnectionStringWithAPasswordIsPassedThroughUntouched()
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("tokens");
        await using var services = PostgreSqlServices(connectionString, new Mock<TokenCredential>(MockBehavior.Strict).Object);
        await using var scope = services.CreateAsyncScope();

        Assert.True(await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.CanConnectAsync());
        Assert.Null(services.GetService<AccessTokenProvider>());
    }

    [Fact]
    public async Task SqlClientRunsInThisBuildConfiguration()
    {
        // SqlClient refuses globalization-invariant mode before it touches the network; reaching the network proves it is off.
        await using var connection = new SqlConnection("Server=tcp:127.0.0.1,9;Database=users;Encrypt=False;Connect Timeout=1;User Id=u;Password=p");

        await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync());
    }

    private static ServiceProvider SqlServerServices(string connectionString, TokenCredential credential) =>
        Services("SqlServer", connectionString, credential);

    private static ServiceProvider PostgreSqlServices(string connectionString, TokenCredential credential) =>
        Services("PostgreSql", connectionString, credential);

    private static ServiceProvider Services(string provider, string connectionString, TokenCredential credential)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = connectionString,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton(credential);
        services.AddUsersData(configuration);
        return services.BuildServiceProvider();
    }

    private static Mock<TokenCredential> CredentialReturning(params (string Token, DateTimeOffset ExpiresOn)[] tokens)
    {
        var credential = new Mock<TokenCredential>(MockBehavior.Strict);
        var sequence = credential.SetupSequence(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()));
        foreach (var (token, expiresOn) in tokens)
        {
            sequence = sequence.ReturnsAsync(new AccessToken(token, expiresOn));
        }

        return credential;
    }

    private static Mock<TimeProvider> ClockAt(DateTimeOffset now)
    {
        var clock = new Mock<TimeProvider>();
        clock.Setup(c => c.GetUtcNow()).Returns(now);
        return clock;
    }

    private sealed class TestAuthenticationParameters(string resource) : SqlAuthenticationParameters(
        SqlAuthenticationMethod.NotSpecified, "example.database.windows.net", "users", resource,
        "https://login.microsoftonline.com/common", "", "", Guid.NewGuid(), 30);
}
