using Azure.Core;
using Azure.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using UserFunctions.Core.Data.CompiledModels.PostgreSql;
using UserFunctions.Core.Data.CompiledModels.Sqlite;
using UserFunctions.Core.Data.CompiledModels.SqlServer;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Core.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DatabaseOptions"/>, a pooled <see cref="UsersDbContext"/> on the provider that configuration names,
    /// and a start-up step that applies pending migrations when <see cref="DatabaseOptions.AppliesMigrationsOnStartup"/> says so.
    /// Wrong settings stop start-up with a message naming the setting: a wrong provider here, the others when the host starts.
    /// The contexts use EF's compiled models (Data/CompiledModels), so start-up skips model building; after a model change run
    /// <c>bash deploy/add-migration.sh</c> (a test fails until you do). Migrations come from <see cref="UsersMigrations.AssemblyName"/>.
    /// </summary>
    public static IServiceCollection AddUsersData(this IServiceCollection services, IConfiguration configuration)
    {
        // The provider picks the context type, so it is read now; everything else is read and checked when the host starts.
        var provider = DatabaseOptions.ProviderFrom(configuration);
        services.AddOptions<DatabaseOptions>()
            // The configuration given, not the container's: hosts and tests alike hand theirs in, and a bare container has none.
            .Bind(configuration.GetSection(DatabaseOptions.SectionName))
            .Configure(options => options.ReadConnectionString(configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // PostgreSQL keeps whole microseconds; a clock with that precision makes a write's response match later reads.
        services.TryAddSingleton(provider == DatabaseProvider.PostgreSql ? MicrosecondClock.Instance : TimeProvider.System);

        // One method per provider: the runtime loads a provider's assemblies only when a method that names its types is
        // compiled, so a process on one provider never maps the others' (see docs/performance.md).
        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                AddSqliteContext(services);
                break;

            case DatabaseProvider.SqlServer or DatabaseProvider.AzureSql:
                AddSqlServerContext(services);
                break;

            case DatabaseProvider.PostgreSql:
                AddPostgreSqlContext(services);
                break;
        }

        services.AddHostedService<MigrationService>();
        return services;
    }

    private static void AddSqliteContext(IServiceCollection services) =>
        services.AddDbContextPool<UsersDbContext, SqliteUsersDbContext>((serviceProvider, options) =>
        {
            UseSqlite(options, Options(serviceProvider)).UseModel(SqliteUsersDbContextModel.Instance);
            // Registered only when telemetry exports (AddApiTelemetry).
            if (serviceProvider.GetService<SqliteCommandSpans>() is { } commandSpans)
            {
                options.AddInterceptors(commandSpans);
            }
        });

    private static void AddSqlServerContext(IServiceCollection services) =>
        services.AddDbContextPool<UsersDbContext, SqlServerUsersDbContext>((serviceProvider, options) =>
            UseSqlServer(options, Options(serviceProvider)).UseModel(SqlServerUsersDbContextModel.Instance));

    private static void AddPostgreSqlContext(IServiceCollection services)
    {
        // One data source for the app (its connection pool, and the token password when passwordless), disposed with the container.
        services.TryAddSingleton(CreatePostgreSqlDataSource);
        services.TryAddSingleton<TokenCredential>(serviceProvider => CreateCredential(Options(serviceProvider)));
        services.TryAddSingleton<AccessTokenProvider>();
        services.AddDbContextPool<UsersDbContext, PostgreSqlUsersDbContext>((serviceProvider, options) =>
            UsePostgreSql(options, Options(serviceProvider), serviceProvider.GetRequiredService<NpgsqlDataSource>()).UseModel(PostgreSqlUsersDbContextModel.Instance));
    }

    private static DatabaseOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<DatabaseOptions>>().Value;

    internal static DbContextOptionsBuilder UseSqlite(DbContextOptionsBuilder options, DatabaseOptions settings) =>
        Defaults(options
            .UseSqlite(settings.ConnectionString, sqlite => sqlite
                .CommandTimeout(settings.CommandTimeoutSeconds)
                .MigrationsAssembly(UsersMigrations.AssemblyName))
            .AddInterceptors(new SqliteConnectionTuning(settings.CommandTimeoutSeconds * 1000)));

    // Azure SQL gets EF's Azure SQL entry point (its engine type drives Azure-specific SQL and defaults); SQL Server elsewhere
    // keeps UseSqlServer. Both use the same context, migrations and retry budget.
    internal static DbContextOptionsBuilder UseSqlServer(DbContextOptionsBuilder options, DatabaseOptions settings) =>
        Defaults(settings.Provider == DatabaseProvider.AzureSql
            ? options.UseAzureSql(settings.ConnectionString, sql => sql
                .CommandTimeout(settings.CommandTimeoutSeconds)
                .MigrationsAssembly(UsersMigrations.AssemblyName)
                .ExecutionStrategy(dependencies => new BudgetedSqlServerExecutionStrategy(dependencies, settings)))
            : options.UseSqlServer(settings.ConnectionString, sql => sql
                .CommandTimeout(settings.CommandTimeoutSeconds)
                .MigrationsAssembly(UsersMigrations.AssemblyName)
                .ExecutionStrategy(dependencies => new BudgetedSqlServerExecutionStrategy(dependencies, settings))));

    internal static DbContextOptionsBuilder UsePostgreSql(DbContextOptionsBuilder options, DatabaseOptions settings, NpgsqlDataSource? dataSource = null)
    {
        void Configure(Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder npgsql) => npgsql
            .CommandTimeout(settings.CommandTimeoutSeconds)
            .MigrationsAssembly(UsersMigrations.AssemblyName)
            .ExecutionStrategy(dependencies => new BudgetedNpgsqlExecutionStrategy(dependencies, settings));

        return Defaults(dataSource is null
            ? options.UseNpgsql(settings.ConnectionString, Configure)
            : options.UseNpgsql(dataSource, Configure));
    }

    private static NpgsqlDataSource CreatePostgreSqlDataSource(IServiceProvider services)
    {
        var settings = Options(services);
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        return settings.UsesAccessToken
            ? services.GetRequiredService<AccessTokenProvider>().ConfigurePostgreSqlPassword(builder).Build()
            : builder.Build();
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

    // What every context gets, whatever its provider.
    private static DbContextOptionsBuilder Defaults(DbContextOptionsBuilder options) => HoistedShapers.Use(QuietFailedCommands(options));

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

    // PostgreSQL's token password: a named user-assigned identity skips DefaultAzureCredential's chain; otherwise the same code
    // works with `az login` on a laptop, a pipeline's federated identity and a system-assigned identity in Azure.
    private static TokenCredential CreateCredential(DatabaseOptions settings) =>
        settings.ManagedIdentityClientId is { } clientId
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
}
