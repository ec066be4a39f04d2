using Azure.Identity;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace UserFunctions.Core.Data;

public enum DatabaseFailureKind
{
    /// <summary>Not a database failure the API knows how to explain: a 500.</summary>
    Other,

    /// <summary>A unique index rejected the write; <see cref="DatabaseFailure.Field"/> says which.</summary>
    UniqueViolation,

    /// <summary>The row changed (or vanished) after it was read.</summary>
    Concurrency,

    /// <summary>The database could not be reached, or failed in a way worth retrying later: a 503.</summary>
    Transient,
}

public readonly record struct DatabaseFailure(DatabaseFailureKind Kind, string? Field = null);

/// <summary>
/// Turns provider exceptions into what the API must say about them, for SQLite, SQL Server and PostgreSQL alike.
/// A unique violation's field comes from the index (or its column), never from the message's free text: the duplicate
/// value is in there too, and it can contain any word.
/// </summary>
public static class DatabaseErrors
{
    // SQLite result codes: https://sqlite.org/rescode.html
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoError = 10;
    private const int SqliteCantOpen = 14;
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    // SQL Server: duplicate key in a unique index (2601) or a unique constraint (2627).
    private const int SqlServerDuplicateKeyInIndex = 2601;
    private const int SqlServerDuplicateKeyInConstraint = 2627;

    // SQL Server errors that mean "not reachable right now" beyond the transient list EF retries on.
    private static readonly HashSet<int> SqlServerUnavailableNumbers =
    [
        -2,     // client timeout
        53,     // server not found / not accessible
        4060,   // cannot open database
        18456,  // login failed (for example, the identity has no user yet)
        40613,  // database not currently available
        // Azure SQL resource governance beyond EF's list (which has 10928, 10929, 10936, 40501, 49918-49920): the
        // database refuses or ends work because a limit of its size is reached. The app's capacity plan
        // (infra/app/capacity.bicep) keeps it clear of the worker limit; the rest is a 503 with Retry-After, never a 500.
        40544,  // database reached its size quota
        40549,  // session ended: long-running transaction
        40550,  // session ended: too many locks
        40551,  // session ended: too much tempdb
        40552,  // session ended: too much transaction log
        40553,  // session ended: too much memory
    ];

    // SqlClient's text for "every pooled connection stayed in use for Connect Timeout" (ADP.PooledOpenTimeout). It has no
    // error number or exception type of its own: an InvalidOperationException thrown by SqlClient, known by this text.
    private const string SqlClientPoolTimeoutText = "obtaining a connection from the pool";

    // PostgreSQL SQLSTATEs: https://www.postgresql.org/docs/current/errcodes-appendix.html
    private const string PostgreSqlUniqueViolation = "23505";

    // PostgreSQL errors that mean "cannot get in right now" beyond Npgsql's transient ones (connection failures, admin
    // shutdown, serialization failures, deadlocks, too many connections): the same rule as SQL Server's list above.
    private static readonly HashSet<string> PostgreSqlUnavailableStates =
    [
        "28000", // invalid authorization (for example, no role for the identity yet)
        "28P01", // password (or access token) rejected
        "3D000", // database does not exist (yet)
    ];

    public static DatabaseFailure Classify(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            // Each provider's exceptions are looked at in a method of their own, picked by the assembly that defines the
            // exception: classifying an error never loads the assemblies of a provider the app does not use.
            var failure = current switch
            {
                DbUpdateConcurrencyException => new(DatabaseFailureKind.Concurrency),
                RetryLimitExceededException or TimeoutException => new(DatabaseFailureKind.Transient),
                InvalidOperationException when IsSqlClientPoolTimeout(current) => new(DatabaseFailureKind.Transient),
                _ => current.GetType().Assembly.GetName().Name switch
                {
                    "Microsoft.Data.Sqlite" => FromSqlite(current),
                    "Microsoft.Data.SqlClient" => FromSqlClient(current),
                    "Npgsql" => FromNpgsql(current),
                    "Azure.Core" or "Azure.Identity" => FromAzureIdentity(current),
                    _ => (DatabaseFailure?)null,
                },
            };
            if (failure is { } known)
            {
                return known;
            }
        }

        return new(DatabaseFailureKind.Other);
    }

    private static DatabaseFailure? FromSqlite(Exception exception) => exception is SqliteException sqlite
        ? ClassifySqlite(sqlite.SqliteErrorCode, sqlite.SqliteExtendedErrorCode, sqlite.Message)
        : null;

    private static DatabaseFailure? FromSqlClient(Exception exception) => exception is SqlException sql
        ? ClassifySqlServer(sql.Number, sql.Message, IsTransientSqlServerError(sql))
        : null;

    private static DatabaseFailure? FromNpgsql(Exception exception) => exception switch
    {
        PostgresException postgres => ClassifyPostgreSql(postgres.SqlState, postgres.ConstraintName, postgres.IsTransient),
        // Npgsql's own failures (cannot connect, connection broken, timeout) carry no SQLSTATE.
        NpgsqlException npgsql => new(npgsql.IsTransient ? DatabaseFailureKind.Transient : DatabaseFailureKind.Other),
        _ => null,
    };

    private static DatabaseFailure? FromAzureIdentity(Exception exception) =>
        exception is AuthenticationFailedException ? new(DatabaseFailureKind.Transient) : null;

    public static DatabaseFailure ClassifySqlite(int errorCode, int extendedErrorCode, string message) => errorCode switch
    {
        SqliteConstraint when extendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey =>
            new(DatabaseFailureKind.UniqueViolation, FieldOfSqliteColumnIn(message)),
        SqliteBusy or SqliteLocked or SqliteIoError or SqliteCantOpen => new(DatabaseFailureKind.Transient),
        _ => new(DatabaseFailureKind.Other),
    };

    public static DatabaseFailure ClassifySqlServer(int number, string message, bool isTransient) => number switch
    {
        SqlServerDuplicateKeyInIndex or SqlServerDuplicateKeyInConstraint =>
            new(DatabaseFailureKind.UniqueViolation, FieldOfSqlServerIndexIn(message)),
        _ when isTransient || SqlServerUnavailableNumbers.Contains(number) => new(DatabaseFailureKind.Transient),
        _ => new(DatabaseFailureKind.Other),
    };

    public static DatabaseFailure ClassifyPostgreSql(string sqlState, string? constraintName, bool isTransient) => sqlState switch
    {
        PostgreSqlUniqueViolation => new(DatabaseFailureKind.UniqueViolation, FieldOfIndex(constraintName)),
        _ when isTransient || PostgreSqlUnavailableStates.Contains(sqlState) => new(DatabaseFailureKind.Transient),
        _ => new(DatabaseFailureKind.Other),
    };

    private static bool IsSqlClientPoolTimeout(Exception exception) =>
        exception.Message.Contains(SqlClientPoolTimeoutText, StringComparison.Ordinal)
        && (exception.Source is null || exception.Source.StartsWith("Microsoft.Data.SqlClient", StringComparison.Ordinal));

#pragma warning disable EF1001 // EF's own list of transient SQL Server errors: the one its retry strategy uses.
    private static bool IsTransientSqlServerError(SqlException exception) =>
        Microsoft.EntityFrameworkCore.SqlServer.Storage.Internal.SqlServerTransientExceptionDetector.ShouldRetryOn(exception);
#pragma warning restore EF1001

    private static readonly (string Index, string Column, string Field)[] UniqueIndexes =
    [
        (UserConfiguration.IndexNames.Username, nameof(Users.User.NormalizedUsername), "username"),
        (UserConfiguration.IndexNames.Email, nameof(Users.User.NormalizedEmail), "email"),
    ];

    private static string? FieldOfIndex(string? indexName) =>
        UniqueIndexes.FirstOrDefault(u => u.Index == indexName).Field;

    // SQLite names the columns, and only them: "UNIQUE constraint failed: Users.NormalizedEmail".
    private static string? FieldOfSqliteColumnIn(string message) =>
        UniqueIndexes.FirstOrDefault(u => message.Contains($"failed: Users.{u.Column}", StringComparison.Ordinal)).Field;

    // SQL Server has no structured index name: "... with unique index 'IX_Users_NormalizedEmail'. The duplicate key value is
    // (JOHN@EXAMPLE.COM)." The index is quoted before the value, and the value is upper-cased (it is a normalized column), so
    // the first quoted, mixed-case index name is the real one.
    private static string? FieldOfSqlServerIndexIn(string message) =>
        UniqueIndexes
            .Select(u => (u.Field, At: message.IndexOf($"'{u.Index}'", StringComparison.Ordinal)))
            .Where(u => u.At >= 0)
            .OrderBy(u => u.At)
            .Select(u => u.Field)
            .FirstOrDefault();
}
