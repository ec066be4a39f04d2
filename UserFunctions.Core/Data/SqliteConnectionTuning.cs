using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace UserFunctions.Core.Data;

/// <summary>
/// The SQLite connections EF uses, and their settings.
/// <para>
/// EF creates a new <see cref="SqliteConnection"/> for every lease of a pooled context and registers its SQL functions on
/// it (<c>regexp</c> and the <c>ef_*</c> decimal arithmetic, comparison and aggregates, the <c>EF_DECIMAL</c> collation),
/// which Microsoft.Data.Sqlite then registers on the native connection at every open: about a third of the CPU of a read
/// by id (docs/performance.md). The model has no <see cref="decimal"/> and no query uses <c>Regex</c> (a test keeps it so),
/// so the connection created here is a plain one, with EF's command timeout (which the busy timeout is) as its default, as EF would set.
/// </para>
/// Per-connection SQLite settings for the local embedded database, applied once per native connection (pooled
/// connections keep them), so requests pay nothing after the first open.
/// <list type="bullet">
/// <item><c>busy_timeout</c>: when a writer holds the lock, SQLite itself waits and retries in millisecond steps.
/// Without it Microsoft.Data.Sqlite sees SQLITE_BUSY and sleeps 150 ms per retry, which under concurrent writes turns into
/// second-long tail latencies.</item>
/// <item><c>synchronous = NORMAL</c>: with WAL this is SQLite's recommended setting: no corruption on a crash, and only
/// the last commits can be lost on power failure. Fine for a local development database; Azure SQL is unaffected.</item>
/// </list>
/// </summary>
internal sealed class SqliteConnectionTuning(int busyTimeoutMilliseconds) : DbConnectionInterceptor
{
    private static readonly ConditionalWeakTable<sqlite3, object> Tuned = [];

    public override InterceptionResult<DbConnection> ConnectionCreating(ConnectionCreatingEventData eventData, InterceptionResult<DbConnection> result) =>
        InterceptionResult<DbConnection>.SuppressWithResult(
            new SqliteConnection(eventData.ConnectionString) { DefaultTimeout = busyTimeoutMilliseconds / 1000 });

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Tune(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Tune(connection);
        return Task.CompletedTask;
    }

    private void Tune(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite || Tuned.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = sqlite.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;";
        command.ExecuteNonQuery();
        Tuned.AddOrUpdate(handle, Tuned);
    }
}
