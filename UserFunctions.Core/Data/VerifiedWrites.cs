using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Core.Data;

/// <summary>
/// Writes that tell the truth under the retrying execution strategy (SQL Server, PostgreSQL). A commit whose
/// acknowledgement was lost looks like a transient failure, and a blind retry of the write then fails against its own
/// result (a 409 for the user it just created, a 412 or a second update for the user it just changed). Here the strategy
/// first asks <c>committed</c> whether the failed attempt landed: only a failure pays for that query. An attempt that
/// failed before its write began (its transaction could not begin) cannot have landed, and is not asked about.
/// </summary>
internal static class VerifiedWrites
{
    /// <param name="write">One attempt; it must be safe to run again after an attempt that did not commit.</param>
    /// <param name="committed">The result of the attempt if it committed, null if it did not.</param>
    /// <param name="inTransaction">True when the attempt runs several statements that must commit together.</param>
    public static Task<T> ExecuteAsync<T>(
        UsersDbContext db,
        Func<CancellationToken, Task<T>> write,
        Func<CancellationToken, Task<T?>> committed,
        bool inTransaction,
        CancellationToken cancellationToken)
        where T : struct =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            (Db: db, Write: write, Committed: committed, InTransaction: inTransaction, WriteBegan: new StrongBox<bool>()),
            static async (_, state, ct) =>
            {
                state.WriteBegan.Value = false;
                if (!state.InTransaction)
                {
                    state.WriteBegan.Value = true;
                    return await state.Write(ct);
                }

                // A failed attempt is retried whole, so SaveChanges' savepoints buy nothing; and EF only logs a savepoint release that
                // fails, so a connection lost right then would leave the attempt running on a dead transaction (a 500, not a retry).
                state.Db.Database.AutoSavepointsEnabled = false;
                try
                {
                    await using var transaction = await state.Db.Database.BeginTransactionAsync(ct);
                    state.WriteBegan.Value = true;
                    var result = await state.Write(ct);
                    await transaction.CommitAsync(ct);
                    return result;
                }
                finally
                {
                    state.Db.Database.AutoSavepointsEnabled = true;
                }
            },
            static async (_, state, ct) => state.WriteBegan.Value && ApiTelemetry.WriteVerified(await state.Committed(ct)) is { } result
                ? new ExecutionResult<T>(true, result)
                : new ExecutionResult<T>(false, default),
            cancellationToken);
}
