using Azure.Identity;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

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

/// <summary>Turns provider exceptions into what the API must say about them, for SQLite and SQL Server alike.</summary>
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
    ];

    public static DatabaseFailure Classify(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case DbUpdateConcurrencyException:
                    return new(DatabaseFailureKind.Concurrency);
                case SqliteException sqlite:
                    return ClassifySqlite(sqlite.SqliteErrorCode, sqlite.SqliteExtendedErrorCode, sqlite.Message);
                case SqlException sql:
                    return ClassifySqlServer(sql.Number, sql.Message, IsTransientSqlServerError(sql));
                case RetryLimitExceededException or TimeoutException or AuthenticationFailedException:
                    return new(DatabaseFailureKind.Transient);
            }
        }

        return new(DatabaseFailureKind.Other);
    }

    public static DatabaseFailure ClassifySqlite(int errorCode, int extendedErrorCode, string message) => errorCode switch
    {
        SqliteConstraint when extendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey =>
            new(DatabaseFailureKind.UniqueViolation, FieldNamedIn(message)),
        SqliteBusy or SqliteLocked or SqliteIoError or SqliteCantOpen => new(DatabaseFailureKind.Transient),
        _ => new(DatabaseFailureKind.Other),
    };

    public static DatabaseFailure ClassifySqlServer(int number, string message, bool isTransient) => number switch
    {
        SqlServerDuplicateKeyInIndex or SqlServerDuplicateKeyInConstraint =>
            new(DatabaseFailureKind.UniqueViolation, FieldNamedIn(message)),
        _ when isTransient || SqlServerUnavailableNumbers.Contains(number) => new(DatabaseFailureKind.Transient),
        _ => new(DatabaseFailureKind.Other),
    };

#pragma warning disable EF1001 // EF's own list of transient SQL Server errors: the one its retry strategy uses.
    private static bool IsTransientSqlServerError(SqlException exception) =>
        Microsoft.EntityFrameworkCore.SqlServer.Storage.Internal.SqlServerTransientExceptionDetector.ShouldRetryOn(exception);
#pragma warning restore EF1001

    // SQLite: "UNIQUE constraint failed: Users.NormalizedEmail".
    // SQL Server: "Cannot insert duplicate key row in object 'dbo.Users' with unique index 'IX_Users_NormalizedEmail'. ..."
    private static string? FieldNamedIn(string message) =>
        message.Contains("Username", StringComparison.OrdinalIgnoreCase) ? "username"
        : message.Contains("Email", StringComparison.OrdinalIgnoreCase) ? "email"
        : null;
}
