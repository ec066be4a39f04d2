using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UserFunctions.Core.Data;

/// <summary>
/// Creates and migrates the embedded SQLite database so a fresh clone runs with no setup. Runs in
/// <see cref="IHostedLifecycleService.StartingAsync"/>, before the server takes its first request.
/// Never registered for SQL Server: the migration bundle changes that schema, at deployment.
/// </summary>
internal sealed partial class SqliteMigrationService(IServiceScopeFactory scopes, ILogger<SqliteMigrationService> logger)
    : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken);
            LogMigrated(pending.Count, pending);
        }

        // WAL lets readers run beside the writer; the mode is stored in the database file.
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = 'wal';", cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} SQLite migration(s): {Migrations}")]
    private partial void LogMigrated(int count, IReadOnlyList<string> migrations);
}
