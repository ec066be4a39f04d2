using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace UserFunctions.Core.Data;

/// <summary>
/// Creates and migrates the database when the host starts, so a fresh clone runs with no setup. Runs in
/// <see cref="IHostedLifecycleService.StartingAsync"/>, before the server takes its first request.
/// Does so by default on SQLite, on PostgreSQL only when <c>Database:MigrateOnStartup=true</c> is set, never on SQL
/// Server (<see cref="DatabaseOptions.AppliesMigrationsOnStartup"/>): deployed schemas change through the migration bundle, and
/// the app's identity has no DDL rights.
/// </summary>
internal sealed partial class MigrationService(IServiceScopeFactory scopes, IOptions<DatabaseOptions> options, ILogger<MigrationService> logger)
    : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.AppliesMigrationsOnStartup)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken);
            LogMigrated(pending.Count, pending);
        }

        // The setting, not db.Database.IsSqlite(): naming EF's SQLite extensions here would load its assembly on every provider.
        if (settings.Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers run beside the writer; the mode is stored in the database file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = 'wal';", cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} migration(s): {Migrations}")]
    private partial void LogMigrated(int count, IReadOnlyList<string> migrations);
}
