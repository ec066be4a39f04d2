using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Auth;

/// <summary>An API host in Entra ID mode that trusts a <see cref="TestAuthority"/> of its own, started before the host.</summary>
public abstract class EntraIdApiHost(HostKind kind, Func<TestDatabase> createDatabase) : ApiHost(kind, createDatabase)
{
    public TestAuthority Authority { get; } = new();

    protected override async Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync()
    {
        await Authority.StartAsync();
        return Authority.HostSettings;
    }

    protected override ValueTask StopDependenciesAsync() => Authority.DisposeAsync();
}

public sealed class EntraIdDevServerOnSqlite() : EntraIdApiHost(HostKind.DevServer, () => new SqliteTestDatabase(pooling: true));

public sealed class EntraIdFunctionsOnSqlite() : EntraIdApiHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false));

public sealed class EntraIdDevServerOnPostgreSql() : EntraIdApiHost(HostKind.DevServer, () => new PostgreSqlTestDatabase());

public sealed class EntraIdFunctionsOnPostgreSql() : EntraIdApiHost(HostKind.Functions, () => new PostgreSqlTestDatabase());
