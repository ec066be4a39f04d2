using Azure.Core;
using Azure.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;
using UserFunctions.Core.Data.CompiledModels.PostgreSql;
using UserFunctions.Core.Data.CompiledModels.Sqlite;
using UserFunctions.Core.Data.CompiledModels.SqlServer;

namespace UserFunctions.Core.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers a pooled <see cref="UsersDbContext"/> on the provider that configuration names, and, when
    /// <see cref="DatabaseSettings.MigrateOnStartup"/> says so, a start-up step that applies pending migrations. Throws at
    /// start-up, naming the setting, when the settings are wrong.
    /// The contexts use EF's compiled models (Data/CompiledModels), so start-up skips model building; after a model change run
    /// <c>dotnet ef dbcontext optimize --project UserFunctions.Core --context SqliteUsersDbContext --output-dir Data/CompiledModels/Sqlite --namespace UserFunctions.Core.Data.CompiledModels.Sqlite</c>
    /// and the same for <c>SqlServerUsersDbContext</c> and <c>PostgreSqlUsersDbContext</c> (a test fails until you do).
    /// </summary>
    public static IServiceCollection AddUsersData(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = DatabaseSettings.From(configuration);
        services.AddSingleton(settings);
        // PostgreSQL keeps whole microseconds; a clock with that precision makes a write's response match later reads.
        services.TryAddSingleton(settings.Provider == DatabaseProvider.PostgreSql ? MicrosecondClock.Instance : TimeProvider.System);

        switch (settings.Provider)
        {
            case DatabaseProvider.Sqlite:
                services.AddDbContextPool<UsersDbContext, SqliteUsersDbContext>(options =>
                    UseSqlite(options, settings).UseModel(SqliteUsersDbContextModel.Instance));
                break;

            case DatabaseProvider.SqlServer or DatabaseProvider.AzureSql:
                if (settings.UsesAccessToken)
                {
                    AddAccessTokens(services, settings);
                    services.TryAddSingleton<SqlAccessTokenInterceptor>();
                }

                services.AddDbContextPool<UsersDbContext, SqlServerUsersDbContext>((provider, options) =>
                {
                    UseSqlServer(options, settings).UseModel(SqlServerUsersDbContextModel.Instance);
                    if (settings.UsesAccessToken)
                    {
                        options.AddInterceptors(provider.GetRequiredService<SqlAccessTokenInterceptor>());
                    }
                });
                break;

            case DatabaseProvider.PostgreSql:
                if (settings.UsesAccessToken)
                {
                    AddAccessTokens(services, settings);
                }

                // One data source for the app (its connection pool, and the token password when passwordless), disposed with the container.
                services.TryAddSingleton(provider => CreatePostgreSqlDataSource(
                    settings, settings.UsesAccessToken ? provider.GetRequiredService<AccessTokenProvider>() : null));
                services.AddDbContextPool<UsersDbContext, PostgreSqlUsersDbContext>((provider, options) =>
                    UsePostgreSql(options, settings, provider.GetRequiredService<NpgsqlDataSource>()).UseModel(PostgreSqlUsersDbContextModel.Instance));
                break;

            default:
                throw new InvalidOperationException($"Unknown database provider {settings.Provider}.");
        }

        if (settings.MigrateOnStartup)
        {
            services.AddHostedService<MigrationService>();
        }

        return services;
    }

    internal static DbContextOptionsBuilder UseSqlite(DbContextOptionsBuilder options, DatabaseSettings settings) =>
        QuietFailedCommands(options
            .UseSqlite(settings.ConnectionString, sqlite => sqlite.CommandTimeout(settings.CommandTimeoutSeconds))
            .AddInterceptors(new SqliteConnectionTuning(settings.CommandTimeoutSeconds * 1000)));

    // Azure SQL gets EF's Azure SQL entry point (its engine type drives Azure-specific SQL and defaults); SQL Server elsewhere
    // keeps UseSqlServer. Both use the same context, migrations and retry budget.
    internal static DbContextOptionsBuilder UseSqlServer(DbContextOptionsBuilder options, DatabaseSettings settings) =>
        QuietFailedCommands(settings.Provider == DatabaseProvider.AzureSql
            ? options.UseAzureSql(settings.ConnectionString, sql => sql
                .CommandTimeout(settings.CommandTimeoutSeconds)
                .ExecutionStrategy(dependencies => new BudgetedSqlServerExecutionStrategy(dependencies, settings)))
            : options.UseSqlServer(settings.ConnectionString, sql => sql
                .CommandTimeout(settings.CommandTimeoutSeconds)
                .ExecutionStrategy(dependencies => new BudgetedSqlServerExecutionStrategy(dependencies, settings))));

    internal static DbContextOptionsBuilder UsePostgreSql(DbContextOptionsBuilder options, DatabaseSettings settings, NpgsqlDataSource? dataSource = null)
    {
        void Configure(Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder npgsql) => npgsql
            .CommandTimeout(settings.CommandTimeoutSeconds)
            .ExecutionStrategy(dependencies => new BudgetedNpgsqlExecutionStrategy(dependencies, settings));

        return QuietFailedCommands(dataSource is null
            ? options.UseNpgsql(settings.ConnectionString, Configure)
            : options.UseNpgsql(dataSource, Configure));
    }

    private static NpgsqlDataSource CreatePostgreSqlDataSource(DatabaseSettings settings, AccessTokenProvider? tokens)
    {
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        return (tokens?.ConfigurePostgreSqlPassword(builder) ?? builder).Build();
    }

    private static void AddAccessTokens(IServiceCollection services, DatabaseSettings settings)
    {
        services.TryAddSingleton<TokenCredential>(_ => CreateCredential(settings));
        services.TryAddSingleton<AccessTokenProvider>();
    }

    private sealed class MicrosecondClock : TimeProvider
    {
        public static readonly MicrosecondClock Instance = new();

        public override DateTimeOffset GetUtcNow()
        {
            var now = System.GetUtcNow();
            return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        }
    }

    // EF logs every failed command, query and connection as an error, with SQL Server's duplicate-key message, which quotes the email. A 409 is
    // not an error and personal data stays out of the logs: the API logs each failure itself (ApiProblems.ForException).
    private static DbContextOptionsBuilder QuietFailedCommands(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(warnings => warnings.Log(
            (RelationalEventId.CommandError, LogLevel.Debug),
            (RelationalEventId.ConnectionError, LogLevel.Debug),
            // A transaction that fails with its connection is retried (or answered 503) and logged once by the API.
            (RelationalEventId.TransactionError, LogLevel.Debug),
            (CoreEventId.QueryIterationFailed, LogLevel.Debug),
            (CoreEventId.SaveChangesFailed, LogLevel.Debug)));

    // A named user-assigned identity skips DefaultAzureCredential's chain; otherwise the same code works with
    // `az login` on a laptop, a pipeline's federated identity and a system-assigned identity in Azure.
    private static TokenCredential CreateCredential(DatabaseSettings settings) =>
        settings.ManagedIdentityClientId is { } clientId
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
}
