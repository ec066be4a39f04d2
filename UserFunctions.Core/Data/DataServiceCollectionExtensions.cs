using Azure.Core;
using Azure.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data.CompiledModels.Sqlite;
using UserFunctions.Core.Data.CompiledModels.SqlServer;

namespace UserFunctions.Core.Data;

public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers a pooled <see cref="UsersDbContext"/> on the provider that configuration names, and on SQLite a start-up
    /// step that applies pending migrations. Throws at start-up, naming the setting, when the settings are wrong.
    /// The contexts use EF's compiled models (Data/CompiledModels), so start-up skips model building; after a model change run
    /// <c>dotnet ef dbcontext optimize --project UserFunctions.Core --context SqliteUsersDbContext --output-dir Data/CompiledModels/Sqlite --namespace UserFunctions.Core.Data.CompiledModels.Sqlite</c>
    /// and the same for <c>SqlServerUsersDbContext</c> (a test fails until you do).
    /// </summary>
    public static IServiceCollection AddUsersData(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = DatabaseSettings.From(configuration);
        services.AddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);

        switch (settings.Provider)
        {
            case DatabaseProvider.Sqlite:
                services.AddDbContextPool<UsersDbContext, SqliteUsersDbContext>(options =>
                    UseSqlite(options, settings).UseModel(SqliteUsersDbContextModel.Instance));
                if (settings.MigrateOnStartup)
                {
                    services.AddHostedService<SqliteMigrationService>();
                }

                break;

            case DatabaseProvider.SqlServer:
                if (settings.UsesAccessToken)
                {
                    services.TryAddSingleton<TokenCredential>(_ => CreateCredential(settings));
                    services.TryAddSingleton<SqlAccessTokenProvider>();
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

            default:
                throw new InvalidOperationException($"Unknown database provider {settings.Provider}.");
        }

        return services;
    }

    internal static DbContextOptionsBuilder UseSqlite(DbContextOptionsBuilder options, DatabaseSettings settings) =>
        QuietFailedCommands(options
            .UseSqlite(settings.ConnectionString, sqlite => sqlite.CommandTimeout(settings.CommandTimeoutSeconds))
            .AddInterceptors(new SqliteConnectionTuning(settings.CommandTimeoutSeconds * 1000)));

    internal static DbContextOptionsBuilder UseSqlServer(DbContextOptionsBuilder options, DatabaseSettings settings) =>
        QuietFailedCommands(options.UseSqlServer(settings.ConnectionString, sql => sql
            .CommandTimeout(settings.CommandTimeoutSeconds)
            .EnableRetryOnFailure(settings.MaxRetryCount, settings.MaxRetryDelay, errorNumbersToAdd: null)));

    // EF logs every failed command, query and connection as an error, with SQL Server's duplicate-key message, which quotes the email. A 409 is
    // not an error and personal data stays out of the logs: the API logs each failure itself (ApiProblems.ForException).
    private static DbContextOptionsBuilder QuietFailedCommands(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(warnings => warnings.Log(
            (RelationalEventId.CommandError, LogLevel.Debug),
            (RelationalEventId.ConnectionError, LogLevel.Debug),
            (CoreEventId.QueryIterationFailed, LogLevel.Debug),
            (CoreEventId.SaveChangesFailed, LogLevel.Debug)));

    // A named user-assigned identity skips DefaultAzureCredential's chain; otherwise the same code works with
    // `az login` on a laptop, a pipeline's federated identity and a system-assigned identity in Azure.
    private static TokenCredential CreateCredential(DatabaseSettings settings) =>
        settings.ManagedIdentityClientId is { } clientId
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
}
