using UserFunctions.Core.Data;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Auth;

/// <summary>An API host in Entra ID mode that trusts a <see cref="TestAuthority"/> of its own, started before the host.</summary>
public abstract class EntraIdApiHost : ApiHost
{
    protected EntraIdApiHost(HostKind kind, Func<TestDatabase> createDatabase)
        : this(kind, createDatabase, new TestAuthority())
    {
    }

    private EntraIdApiHost(HostKind kind, Func<TestDatabase> createDatabase, TestAuthority authority)
        : base(kind, () => new TrustingAuthority(createDatabase(), authority)) => Authority = authority;

    public TestAuthority Authority { get; }

    /// <summary>
    /// The database's settings plus the authority's: the host reads both at start, so the authority starts with the
    /// database and stops after it.
    /// </summary>
    private sealed class TrustingAuthority(TestDatabase database, TestAuthority authority) : TestDatabase
    {
        public override async Task<IReadOnlyDictionary<string, string?>> CreateAsync()
        {
            await authority.StartAsync();
            var settings = new Dictionary<string, string?>(await database.CreateAsync());
            foreach (var (key, value) in authority.HostSettings)
            {
                settings[key] = value;
            }

            return settings;
        }

        public override UsersDbContext CreateContext() => database.CreateContext();

        public override Task<long> CountUsersAsync() => database.CountUsersAsync();

        public override Task ExecuteSqlAsync(string sql) => database.ExecuteSqlAsync(sql);

        public override Task<IAsyncDisposable> TakeOfflineAsync() => database.TakeOfflineAsync();

        public override async ValueTask DisposeAsync()
        {
            await database.DisposeAsync();
            await authority.DisposeAsync();
        }
    }
}

public sealed class EntraIdDevServerOnSqlite() : EntraIdApiHost(HostKind.DevServer, () => new SqliteTestDatabase(pooling: true));

public sealed class EntraIdFunctionsOnSqlite() : EntraIdApiHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false));

public sealed class EntraIdDevServerOnPostgreSql() : EntraIdApiHost(HostKind.DevServer, () => new PostgreSqlTestDatabase());

public sealed class EntraIdFunctionsOnPostgreSql() : EntraIdApiHost(HostKind.Functions, () => new PostgreSqlTestDatabase());
