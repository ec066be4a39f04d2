using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

public class DatabaseOptionsTests
{
    [Fact]
    public void WithNoSettingsTheDefaultIsAnEmbeddedSqliteFile()
    {
        var settings = Options([]);

        Assert.Equal(DatabaseProvider.Sqlite, settings.Provider);
        Assert.Equal("Data Source=users.db", settings.ConnectionString);
        Assert.True(settings.AppliesMigrationsOnStartup);
    }

    [Fact]
    public async Task AnUnknownProviderFailsAtStartUpNamingTheSetting()
    {
        var exception = await StartUpFailureAsync(new() { ["Database:Provider"] = "Postgres" });

        Assert.Contains("'Database:Provider'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("'Postgres'", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PostgreSql")]
    [InlineData("postgresql")]
    [InlineData(" POSTGRESQL ")]
    public void ThePostgreSqlProviderNameIsCaseInsensitive(string name) =>
        Assert.Equal(DatabaseProvider.PostgreSql, Options(new()
        {
            ["Database:Provider"] = name,
            ["ConnectionStrings:Users"] = "Host=localhost;Database=users;Username=app;Password=secret",
        }).Provider);

    [Theory]
    [InlineData(null, false)]
    [InlineData("false", false)]
    [InlineData("true", true)]
    public void PostgreSqlMigratesAtStartUpOnlyWhenSetExplicitly(string? migrateOnStartup, bool expected)
    {
        var settings = Options(new()
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = "Host=localhost;Database=users;Username=app;Password=secret",
            ["Database:MigrateOnStartup"] = migrateOnStartup,
        });

        Assert.Equal(expected, settings.AppliesMigrationsOnStartup);
    }

    [Theory]
    [InlineData("Host=example.postgres.database.azure.com;Database=users;Username=app-identity;SSL Mode=Require", true)]
    [InlineData("Host=localhost;Database=users;Username=app;Password=secret", false)]
    [InlineData("Host=localhost;Database=users;Username=app;Passfile=/home/app/.pgpass", false)]
    public void PostgreSqlUsesAnAccessTokenOnlyWithoutAPassword(string connectionString, bool usesAccessToken) =>
        Assert.Equal(usesAccessToken, Options(new()
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = connectionString,
        }).UsesAccessToken);

    [Fact]
    public void OnPostgreSqlTheClockHandsOutWholeMicrosecondsAsTheDatabaseStoresThem()
    {
        using var services = new ServiceCollection().AddUsersData(Configuration(new()
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = "Host=localhost;Database=users;Username=app;Password=secret",
        })).BuildServiceProvider();

        Assert.All(Enumerable.Range(0, 20).Select(_ => services.GetRequiredService<TimeProvider>().GetUtcNow()),
            now => Assert.Equal(0, now.Ticks % TimeSpan.TicksPerMicrosecond));
    }

    [Fact]
    public async Task AHostOnPostgreSqlWithMigrateOnStartupMigratesTheDatabaseBeforeItStarts()
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("host");

        await AssertAHostStartsOnAMigratedEmptyDatabaseAsync(new()
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = connectionString,
            ["Database:MigrateOnStartup"] = "true",
        });
    }

    [Theory]
    [InlineData("SqlServer")]
    [InlineData("PostgreSql")]
    public async Task AServerProviderWithoutAConnectionStringFailsAtStartUpNamingTheSetting(string provider)
    {
        var exception = await StartUpFailureAsync(new() { ["Database:Provider"] = provider });

        Assert.Contains("'ConnectionStrings:Users'", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SqlServer", "Server=x;Passwrd=hunter2-secret")]
    [InlineData("PostgreSql", "Host=x;Passwrd=hunter2-secret")]
    public async Task AnUnparsableConnectionStringFailsAtStartUpWithoutEchoingIt(string provider, string connectionString)
    {
        var exception = await StartUpFailureAsync(new()
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = connectionString,
        });

        Assert.Contains("'ConnectionStrings:Users'", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SqlServerNeverMigratesAtStartUpEvenWhenAsked()
    {
        var settings = Options(new()
        {
            ["Database:Provider"] = "SqlServer",
            ["ConnectionStrings:Users"] = "Server=tcp:example.database.windows.net;Database=users",
            ["Database:MigrateOnStartup"] = "true",
        });

        Assert.False(settings.AppliesMigrationsOnStartup);
    }

    [Theory]
    [InlineData("SqlServer", "Server=tcp:example.database.windows.net;Database=users", 5)]
    [InlineData("AzureSql", "Server=tcp:example.database.windows.net;Database=users;Connect Timeout=30", 30)]
    [InlineData("SqlServer", "Server=tcp:example.database.windows.net;Database=users;Connection Timeout=12", 12)]
    [InlineData("PostgreSql", "Host=localhost;Database=users;Username=app;Password=secret", 5)]
    [InlineData("PostgreSql", "Host=localhost;Database=users;Username=app;Password=secret;Timeout=20", 20)]
    public void AServerConnectionStringWithoutATimeoutGetsTheShortDefaultAndAnExplicitOneIsKept(string provider, string connectionString, int expectedSeconds)
    {
        var settings = Options(new()
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = connectionString,
        });

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), settings.ConnectTimeout);
        var driverTimeout = provider == "PostgreSql"
            ? new Npgsql.NpgsqlConnectionStringBuilder(settings.ConnectionString).Timeout
            : new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(settings.ConnectionString).ConnectTimeout;
        Assert.Equal(expectedSeconds, driverTimeout);
    }

    [Theory]
    [InlineData("", true, DatabaseOptions.DefaultPostgreSqlMaxAutoPrepare)]
    [InlineData(";No Reset On Close=false;Max Auto Prepare=0", false, 0)]
    [InlineData(";NoResetOnClose=false;MaxAutoPrepare=5", false, 5)]
    [InlineData(";Max Auto Prepare=0", true, 0)]
    public void PostgreSqlConnectionsSkipTheSessionResetAndPrepareTheirStatementsUnlessTheConnectionStringSaysOtherwise(
        string given, bool noResetOnClose, int maxAutoPrepare)
    {
        using var services = new ServiceCollection().AddUsersData(Configuration(new()
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = "Host=localhost;Database=users;Username=app;Password=secret" + given,
        })).BuildServiceProvider();

        // What the driver gets: the data source the context opens its connections from.
        var driver = new Npgsql.NpgsqlConnectionStringBuilder(services.GetRequiredService<Npgsql.NpgsqlDataSource>().ConnectionString);
        Assert.Equal(noResetOnClose, driver.NoResetOnClose);
        Assert.Equal(maxAutoPrepare, driver.MaxAutoPrepare);
    }

    [Fact]
    public async Task TheRetryBudgetIsTenSecondsUnlessSet()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), Options([]).RetryBudget);
        Assert.Equal(TimeSpan.FromSeconds(3), Options(new() { ["Database:RetryBudgetSeconds"] = "3" }).RetryBudget);
        var exception = await StartUpFailureAsync(new() { ["Database:RetryBudgetSeconds"] = "0" });
        Assert.Contains("'Database:RetryBudgetSeconds'", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CommandTimeoutSeconds", "0")]
    [InlineData("MaxRetryCount", "-1")]
    [InlineData("MaxRetryDelaySeconds", "0")]
    [InlineData("RetryBudgetSeconds", "ten")]
    [InlineData("MigrateOnStartup", "yes")]
    public async Task AnOutOfRangeOrMalformedSettingFailsAtStartUpNamingIt(string name, string value)
    {
        var exception = await StartUpFailureAsync(new() { [$"Database:{name}"] = value });

        Assert.Contains($"'Database:{name}'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroRetriesTurnRetriesOff() =>
        Assert.Equal(0, Options(new() { ["Database:MaxRetryCount"] = "0" }).MaxRetryCount);

    [Theory]
    [InlineData("SqlServer", false)]
    [InlineData("AzureSql", true)]
    public void AzureSqlUsesEfsAzureSqlEntryPointAndSqlServerKeepsUseSqlServer(string provider, bool azureSql)
    {
        using var services = new ServiceCollection().AddUsersData(Configuration(new()
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Users"] = "Server=tcp:example.database.windows.net;Database=users;User Id=u;Password=not-a-real-password",
        })).BuildServiceProvider();
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

        Assert.IsType<SqlServerUsersDbContext>(db);
        Assert.True(db.Database.IsSqlServer());
#pragma warning disable EF1001 // The engine type UseAzureSql sets is only visible on the provider's options extension.
        var engine = Microsoft.EntityFrameworkCore.Infrastructure.AccessorExtensions.GetService<Microsoft.EntityFrameworkCore.Infrastructure.IDbContextOptions>(db)
            .FindExtension<Microsoft.EntityFrameworkCore.SqlServer.Infrastructure.Internal.SqlServerOptionsExtension>()!.EngineType;
#pragma warning restore EF1001
        Assert.Equal(azureSql ? "AzureSql" : "SqlServer", engine.ToString());
        Assert.IsType<BudgetedSqlServerExecutionStrategy>(db.Database.CreateExecutionStrategy());
    }

    [Fact]
    public void AUserAssignedIdentityComesFromTheSettingOrAzureClientId()
    {
        Assert.Equal("from-setting", Options(new()
        {
            ["Database:ManagedIdentityClientId"] = "from-setting",
            ["AZURE_CLIENT_ID"] = "from-environment",
        }).ManagedIdentityClientId);
        Assert.Equal("from-environment", Options(new() { ["AZURE_CLIENT_ID"] = "from-environment" }).ManagedIdentityClientId);
    }

    [Fact]
    public async Task AHostOnSqliteCreatesMigratesAndSwitchesTheDatabaseToWalBeforeItStarts()
    {
        var path = Path.Combine(Path.GetTempPath(), $"users-{Guid.NewGuid():N}.db");
        try
        {
            await AssertAHostStartsOnAMigratedEmptyDatabaseAsync(new() { ["ConnectionStrings:Users"] = $"Data Source={path}" });

            await using var connection = new SqliteConnection($"Data Source={path}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task SqliteConnectionsWaitForTheWriteLockInsideSqliteAndUseNormalSyncWithWal()
    {
        var path = Path.Combine(Path.GetTempPath(), $"users-{Guid.NewGuid():N}.db");
        try
        {
            await using var services = new ServiceCollection()
                .AddUsersData(Configuration(new() { ["ConnectionStrings:Users"] = $"Data Source={path}", ["Database:CommandTimeoutSeconds"] = "7" }))
                .BuildServiceProvider();
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

            await db.Database.OpenConnectionAsync();
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA busy_timeout;";
            var busyTimeout = (long)(await command.ExecuteScalarAsync())!;
            command.CommandText = "PRAGMA synchronous;";
            var synchronous = (long)(await command.ExecuteScalarAsync())!;

            Assert.Equal(7000, busyTimeout);
            Assert.Equal(1, synchronous); // NORMAL
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(path);
        }
    }

    // Starts a host with these data settings (its start-up migration included), checks the database, and stops it.
    private static async Task AssertAHostStartsOnAMigratedEmptyDatabaseAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddUsersData(builder.Configuration);
        using var host = builder.Build();

        await host.StartAsync();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            Assert.Equal(0, await db.Users.CountAsync());
        }

        await host.StopAsync();
    }

    // The options as the app gets them (bound, completed and validated).
    private static DatabaseOptions Options(Dictionary<string, string?> values)
    {
        using var services = new ServiceCollection().AddUsersData(Configuration(values)).BuildServiceProvider();
        return services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
    }

    // What stops a host with these settings from starting: registration (the provider) or the start-up validation (the rest).
    private static async Task<Exception> StartUpFailureAsync(Dictionary<string, string?> settings)
    {
        var exception = await Record.ExceptionAsync(async () =>
        {
            // Empty: the test output holds the dev server's appsettings.json, with a connection string.
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddUsersData(builder.Configuration);
            using var host = builder.Build();
            await host.StartAsync();
            await host.StopAsync();
        });
        return Assert.IsAssignableFrom<Exception>(exception);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
