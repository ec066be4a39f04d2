using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace UserFunctions.Tests.Data;

/// <summary>Records the commands EF executes, per context, from its diagnostic events.</summary>
public sealed class CommandCapture : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly List<IDisposable> _subscriptions = [];
    private readonly List<(DbContext Context, string Sql, IReadOnlyList<(string Name, object? Value)> Parameters)> _captured = [];

    public CommandCapture()
    {
        lock (_subscriptions)
        {
            _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        }
    }

    public List<(string Sql, IReadOnlyList<(string Name, object? Value)> Parameters)> For(DbContext context)
    {
        lock (_captured)
        {
            return _captured.Where(c => c.Context == context).Select(c => (c.Sql, c.Parameters)).ToList();
        }
    }

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == RelationalEventId.CommandExecuting.Name && value.Value is CommandEventData { Context: { } context } data)
        {
            lock (_captured)
            {
                _captured.Add((context, data.Command.CommandText, data.Command.Parameters.Cast<DbParameter>().Select(p => (p.ParameterName, (object?)p.Value)).ToList()));
            }
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        lock (_subscriptions)
        {
            _subscriptions.ForEach(s => s.Dispose());
        }
    }
}
