using Azure.Core;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;
using Npgsql;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

public class AccessTokenTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AFreshTokenIsServedFromTheCacheAndANearlyExpiredOneIsRenewed()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)), ("token-2", Start.AddHours(2)));
        var clock = new FakeTimeProvider(Start);
        using var tokens = new AccessTokenProvider(credential.Object, clock);

        var first = await PasswordAsync(tokens);
        clock.SetUtcNow(Start.AddMinutes(50)); // 10 minutes left: still fresh
        var second = await PasswordAsync(tokens);
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Once);

        clock.SetUtcNow(Start.AddMinutes(56)); // 4 minutes left: renew
        var third = await PasswordAsync(tokens);

        Assert.Equal(["token-1", "token-1", "token-2"], new[] { first, second, third });
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task ConcurrentCallersShareOneCredentialCall()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var tokens = new AccessTokenProvider(credential.Object, new FakeTimeProvider(Start));

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await PasswordAsync(tokens))));

        Assert.All(results, token => Assert.Equal("token-1", token));
        credential.Verify(c => c.GetTokenAsync(It.IsAny<TokenRequestContext>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Theory]
    [InlineData(null, "Active Directory Default", "")]
    [InlineData("00000000-0000-0000-0000-000000000001", "Active Directory Managed Identity", "00000000-0000-0000-0000-000000000001")]
    public void APasswordlessSqlServerConnectionSignsInWithSqlClientsOwnEntraAuthentication(string? clientId, string authentication, string userId)
    {
        using var services = SqlServerServices("Server=tcp:example.database.windows.net,1433;Database=users;Encrypt=True", clientId);
        using var scope = services.CreateScope();

        var connection = new SqlConnectionStringBuilder(scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.GetConnectionString());

        Assert.Equal(new SqlConnectionStringBuilder($"Authentication={authentication}").Authentication, connection.Authentication);
        Assert.Equal(userId, connection.UserID);
        Assert.Equal("", connection.Password);
    }

    [Theory]
    [InlineData("Server=tcp:example.database.windows.net;Database=users;Authentication=Active Directory Default")]
    [InlineData("Server=tcp:example.database.windows.net;Database=users;Authentication=Active Directory Managed Identity;User Id=00000000-0000-0000-0000-000000000002")]
    [InlineData("Server=localhost;Database=users;User Id=sa;Password=not-a-real-password;TrustServerCertificate=True")]
    [InlineData("Server=localhost;Database=users;Integrated Security=True")]
    public void ASqlServerConnectionStringThatAlreadyAuthenticatesKeepsItsSignIn(string connectionString)
    {
        using var services = SqlServerServices(connectionString, clientId: "00000000-0000-0000-0000-000000000001");
        using var scope = services.CreateScope();

        var expected = new SqlConnectionStringBuilder(connectionString);
        var actual = new SqlConnectionStringBuilder(scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.GetConnectionString());

        Assert.Equal(expected.Authentication, actual.Authentication);
        Assert.Equal(expected.UserID, actual.UserID);
        Assert.Equal(expected.Password, actual.Password);
        Assert.Equal(expected.IntegratedSecurity, actual.IntegratedSecurity);
    }

    [Fact]
    public async Task SqlClientHasItsEntraAuthenticationInThisBuild()
    {
        // Without the Azure authentication provider SqlClient refuses the Authentication keyword before it touches the network;
        // a network error proves the provider is there. (SQL Server asks for the token only after the server answers.)
        var settings = DatabaseOptionsFor("SqlServer", "Server=tcp:127.0.0.1,9;Database=users;Encrypt=False;Connect Timeout=1");
        await using var connection = new SqlConnection(settings.ConnectionString);

        var exception = await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync());
        Assert.DoesNotContain("authentication provider", exception.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ThePostgreSqlPasswordIsATokenForAzureDatabaseForPostgreSql()
    {
        var credential = CredentialReturning(("token-1", Start.AddHours(1)));
        using var tokens = new AccessTokenProvider(credential.Object, new FakeTimeProvider(Start));

        var password = await PasswordAsync(tokens);

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
        var credential = new Mock<TokenCredential>(MockBehavior.Strict);
        await using var services = PostgreSqlServices(connectionString, credential.Object);
        await using var scope = services.CreateAsyncScope();

        Assert.True(await scope.ServiceProvider.GetRequiredService<UsersDbContext>().Database.CanConnectAsync());
        Assert.False(services.GetRequiredService<IOptions<DatabaseOptions>>().Value.UsesAccessToken);
        credential.VerifyNoOtherCalls();
    }

    [Fact]
    public async Task SqlClientRunsInThisBuildConfiguration()
    {
        // SqlClient refuses globalization-invariant mode before it touches the network; reaching the network proves it is off.
        await using var connection = new SqlConnection("Server=tcp:127.0.0.1,9;Database=users;Encrypt=False;Connect Timeout=1;User Id=u;Password=p");

        await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync());
    }

    private static ServiceProvider SqlServerServices(string connectionString, string? clientId) =>
        new ServiceCollection().AddUsersData(Configuration("SqlServer", connectionString, clientId)).BuildServiceProvider();

    private static ServiceProvider PostgreSqlServices(string connectionString, TokenCredential credential)
    {
        var services = new ServiceCollection();
        services.AddSingleton(credential);
        services.AddUsersData(Configuration("PostgreSql", connectionString));
        return services.BuildServiceProvider();
    }

    private static DatabaseOptions DatabaseOptionsFor(string provider, string connectionString)
    {
        using var services = new ServiceCollection().AddUsersData(Configuration(provider, connectionString)).BuildServiceProvider();
        return services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
    }

    private static IConfiguration Configuration(string provider, string connectionString, string? clientId = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = connectionString,
            ["Database:ManagedIdentityClientId"] = clientId,
        }).Build();

    private static ValueTask<string> PasswordAsync(AccessTokenProvider tokens) =>
        tokens.GetPostgreSqlPasswordAsync(new NpgsqlConnectionStringBuilder(), CancellationToken.None);

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
}
