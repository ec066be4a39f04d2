using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace UserFunctions.Core.Data;

/// <summary>
/// Deletes the <c>Idempotency-Key</c> rows older than <see cref="IdempotencyStore.Retention"/> every <see cref="Interval"/>,
/// off the request path: a keyed request pays for its own key only. Nothing is answered from a key that expired but is not
/// yet deleted (<see cref="IdempotencyStore.ClaimAsync{TBody}"/> takes it over). The first sweep waits one interval, so a
/// cold start does no work its first request does not need. Every instance sweeps; the delete is served by the index on
/// <c>ClaimedAt</c>, and instances that race delete nothing twice.
/// </summary>
internal sealed partial class ExpiredIdempotencyKeySweep(
    IServiceScopeFactory scopes, TimeProvider clock, ILogger<ExpiredIdempotencyKeySweep> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    // Started with the service rather than in ExecuteAsync, which the host runs on another thread some time later.
    private readonly PeriodicTimer _timer = new(Interval, clock);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(stoppingToken))
            {
                await SweepOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
    }

    /// <summary>One sweep; a failure is logged and the next interval tries again.</summary>
    internal async Task SweepOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();
            var expired = clock.GetUtcNow().UtcDateTime - IdempotencyStore.Retention;
            var deleted = await db.IdempotencyKeys.Where(k => k.ClaimedAt < expired).ExecuteDeleteAsync(cancellationToken);
            if (deleted > 0)
            {
                LogSwept(logger, deleted);
            }
        }
        catch (Exception exception) when (exception is DbException or RetryLimitExceededException or InvalidOperationException or TimeoutException)
        {
            LogSweepFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} expired Idempotency-Key(s)")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete expired Idempotency-Keys; the next sweep tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
