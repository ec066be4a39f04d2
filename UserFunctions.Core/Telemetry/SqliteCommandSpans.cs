using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace UserFunctions.Core.Telemetry;

/// <summary>
/// A client span for each SQLite command, which has no instrumentation of its own (Npgsql and SqlClient trace theirs). It is
/// an interceptor on this app's own context, registered only when telemetry exports, rather than a listener to EF Core's
/// process-wide diagnostic events, so a process traces only the commands of the contexts that asked for it. The span carries
/// the SQL text with its parameter placeholders, never the values bound to them.
/// </summary>
internal sealed class SqliteCommandSpans : DbCommandInterceptor
{
    private static readonly ActivitySource Source = new(ApiTelemetry.SourceName);

    private readonly ConcurrentDictionary<Guid, Activity> _running = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Start(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Start(command, eventData);
        return ValueTask.FromResult(result);
    }

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Stop(eventData.CommandId, error: null);
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Stop(eventData.CommandId, error: null);
        return ValueTask.FromResult(result);
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Stop(eventData.CommandId, error: null);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Stop(eventData.CommandId, error: null);
        return ValueTask.FromResult(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Stop(eventData.CommandId, error: null);
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Stop(eventData.CommandId, error: null);
        return ValueTask.FromResult(result);
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) =>
        Stop(eventData.CommandId, eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Stop(eventData.CommandId, eventData.Exception);
        return Task.CompletedTask;
    }

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) =>
        Stop(eventData.CommandId, new OperationCanceledException());

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Stop(eventData.CommandId, new OperationCanceledException());
        return Task.CompletedTask;
    }

    private void Start(DbCommand command, CommandEventData eventData)
    {
        if (!Source.HasListeners())
        {
            return;
        }

        var operation = OperationOf(command.CommandText);
        var activity = Source.StartActivity(operation?.SpanName ?? "sqlite", ActivityKind.Client);
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag("db.system.name", "sqlite");
            activity.SetTag("db.query.text", command.CommandText);
            activity.SetTag("db.operation.name", operation?.Name);
        }

        // Executing runs in its own async context: the command's span must not stay current for the caller.
        Activity.Current = activity.Parent;
        _running[eventData.CommandId] = activity;
    }

    private void Stop(Guid commandId, Exception? error)
    {
        if (!_running.TryRemove(commandId, out var activity))
        {
            return;
        }

        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", error.GetType().FullName);
        }

        activity.Stop();
    }

    /// <summary>The statement's first keyword and the span's name, both made once per keyword rather than per command.</summary>
    private sealed record Operation(string Name, string SpanName);

    private static readonly ConcurrentDictionary<string, Operation> Operations = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The statement's first keyword (SELECT, INSERT, ...), or null when the text does not start with a word.</summary>
    private static Operation? OperationOf(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        var end = 0;
        while (end < text.Length && char.IsAsciiLetter(text[end]))
        {
            end++;
        }

        if (end == 0)
        {
            return null;
        }

        var keyword = text[..end];
        return Operations.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(keyword, out var known)
            ? known
            : Operations.GetOrAdd(keyword.ToString(), static word => new(word.ToUpperInvariant(), word.ToUpperInvariant() + " sqlite"));
    }
}
