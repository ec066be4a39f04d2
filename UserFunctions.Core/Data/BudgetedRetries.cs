using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Core.Data;

/// <summary>
/// The time side of a retrying execution strategy: the providers' strategies bound only the number of retries, and with
/// connection timeouts between them an outage could hold a request for a minute. A retry starts only if it could still fail
/// within <see cref="DatabaseOptions.RetryBudget"/> (elapsed + delay + one connection timeout); otherwise the operation
/// gives up and the API answers 503 with Retry-After. The budget is the request's, not each operation's: it starts with the
/// first operation of the context's lease (<see cref="UsersDbContext.RetryBudgetStart"/>), so a keyed write's claim, write and
/// release share it.
/// </summary>
internal struct RetryBudget(DatabaseOptions settings)
{
    private long _startedAt;

    public void Start(DbContext context) =>
        _startedAt = context is UsersDbContext users ? users.RetryBudgetStart() : Stopwatch.GetTimestamp();

    public readonly TimeSpan? Allow(TimeSpan? delay, Exception failure, DbContext context, int retry) =>
        ApiTelemetry.Retrying(context, failure, retry,
            delay is { } wait && Stopwatch.GetElapsedTime(_startedAt) + wait + settings.ConnectTimeout <= settings.RetryBudget ? wait : null);
}

internal sealed class BudgetedSqlServerExecutionStrategy(ExecutionStrategyDependencies dependencies, DatabaseOptions settings)
    : SqlServerRetryingExecutionStrategy(dependencies, settings.MaxRetryCount, settings.MaxRetryDelay, errorNumbersToAdd: null)
{
    private RetryBudget _budget = new(settings);

    protected override void OnFirstExecution()
    {
        base.OnFirstExecution();
        _budget.Start(Dependencies.CurrentContext.Context);
    }

    protected override TimeSpan? GetNextDelay(Exception lastException) =>
        _budget.Allow(base.GetNextDelay(lastException), lastException, Dependencies.CurrentContext.Context, ExceptionsEncountered.Count);
}

internal sealed class BudgetedNpgsqlExecutionStrategy(ExecutionStrategyDependencies dependencies, DatabaseOptions settings)
    : NpgsqlRetryingExecutionStrategy(dependencies, settings.MaxRetryCount, settings.MaxRetryDelay, errorCodesToAdd: null)
{
    private RetryBudget _budget = new(settings);

    protected override void OnFirstExecution()
    {
        base.OnFirstExecution();
        _budget.Start(Dependencies.CurrentContext.Context);
    }

    protected override TimeSpan? GetNextDelay(Exception lastException) =>
        _budget.Allow(base.GetNextDelay(lastException), lastException, Dependencies.CurrentContext.Context, ExceptionsEncountered.Count);
}
