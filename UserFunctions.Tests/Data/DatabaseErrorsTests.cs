using System.Net.Sockets;
using System.Reflection;
using Azure.Identity;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

public class DatabaseErrorsTests
{
    [Theory]
    [InlineData(2601, "Cannot insert duplicate key row in object 'dbo.Users' with unique index 'IX_Users_NormalizedUsername'. The duplicate key value is (JOHN_DOE).", "username")]
    [InlineData(2601, "Cannot insert duplicate key row in object 'dbo.Users' with unique index 'IX_Users_NormalizedEmail'. The duplicate key value is (JOHN@EXAMPLE.COM).", "email")]
    [InlineData(2627, "Violation of UNIQUE KEY constraint 'IX_Users_NormalizedEmail'. Cannot insert duplicate key in object 'dbo.Users'.", "email")]
    // The duplicate value is in the message too, and may contain any word (or index name): only the index counts.
    [InlineData(2601, "Cannot insert duplicate key row in object 'dbo.Users' with unique index 'IX_Users_NormalizedEmail'. The duplicate key value is (USERNAME@EXAMPLE.COM).", "email")]
    [InlineData(2601, "Cannot insert duplicate key row in object 'dbo.Users' with unique index 'IX_Users_NormalizedUsername'. The duplicate key value is (EMAIL).", "username")]
    public void SqlServerDuplicateKeyErrorsAreUniqueViolationsOfTheNamedField(int number, string message, string field)
    {
        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, field), DatabaseErrors.ClassifySqlServer(number, message, isTransient: false));
        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, field), DatabaseErrors.Classify(SqlExceptionWith(number, message)));
    }

    [Theory]
    [InlineData(40613)] // database not currently available
    [InlineData(40501)] // service busy
    [InlineData(49918)] // not enough resources
    [InlineData(1205)]  // deadlock victim
    [InlineData(-2)]    // timeout
    [InlineData(4060)]  // cannot open database
    // Resource limits of Azure SQL ("too busy"): https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues
    [InlineData(10928)] // resource limit reached: workers (requests)
    [InlineData(10929)] // minimum resources guaranteed, not available now
    [InlineData(10936)] // request limit reached
    [InlineData(40544)] // database reached its size quota
    [InlineData(40549)] // session terminated: long-running transaction
    [InlineData(40550)] // session terminated: too many locks
    [InlineData(40551)] // session terminated: too much tempdb
    [InlineData(40552)] // session terminated: too much transaction log
    [InlineData(40553)] // session terminated: too much memory
    [InlineData(49919)] // cannot process create or update request: too many operations
    [InlineData(49920)] // cannot process request: too many operations
    public void SqlServerTransientAndUnreachableErrorsAreTransient(int number) =>
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(SqlExceptionWith(number, "failure")).Kind);

    [Fact]
    public void OtherSqlServerErrorsAreNeitherTransientNorUnique()
    {
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(SqlExceptionWith(207, "Invalid column name 'Nope'.")).Kind);
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.ClassifySqlServer(547, "The INSERT statement conflicted with the FOREIGN KEY constraint", isTransient: false).Kind);
    }

    [Theory]
    [InlineData("IX_Users_NormalizedUsername", "username")]
    [InlineData("IX_Users_NormalizedEmail", "email")]
    [InlineData("PK_Users", null)]
    public void PostgreSqlUniqueViolationsNameTheFieldOfTheirIndex(string constraint, string? field) =>
        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, field), DatabaseErrors.Classify(new DbUpdateException("wrapped", PostgresError(
            "23505", constraint, "duplicate key value violates unique constraint \"IX_Users_NormalizedUsername\" (EMAIL USERNAME)"))));

    [Theory]
    [InlineData("08006")] // connection failure
    [InlineData("57P01")] // admin shutdown
    [InlineData("57P03")] // cannot connect now (starting up)
    [InlineData("40001")] // serialization failure
    [InlineData("40P01")] // deadlock detected
    [InlineData("53300")] // too many connections (server, database or role connection limit)
    [InlineData("53000")] // insufficient resources
    [InlineData("53100")] // disk full
    [InlineData("53200")] // out of memory
    [InlineData("53400")] // configuration limit exceeded
    [InlineData("28P01")] // password (access token) rejected
    [InlineData("3D000")] // database does not exist
    public void PostgreSqlConnectionShutdownSerializationAndDeadlockErrorsAreTransient(string sqlState) =>
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(PostgresError(sqlState)).Kind);

    [Theory]
    [InlineData("23502")] // not null violation
    [InlineData("42P01")] // undefined table
    public void OtherPostgreSqlErrorsAreNeitherTransientNorUnique(string sqlState) =>
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(PostgresError(sqlState)).Kind);

    [Fact]
    public void NpgsqlNetworkFailuresAreTransient() =>
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(
            new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused))).Kind);

    [Fact]
    public void SqliteUniqueConstraintErrorsNameTheField()
    {
        var exception = new SqliteException("SQLite Error 19: 'UNIQUE constraint failed: Users.NormalizedUsername'.", 19, 2067);

        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, "username"), DatabaseErrors.Classify(new DbUpdateException("wrapped", exception)));
    }

    [Theory]
    [InlineData(5)]  // SQLITE_BUSY
    [InlineData(6)]  // SQLITE_LOCKED
    [InlineData(14)] // SQLITE_CANTOPEN
    public void SqliteBusyLockedAndCantOpenAreTransient(int errorCode) =>
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(new SqliteException("failure", errorCode)).Kind);

    [Fact]
    public void SqliteNotNullAndOtherConstraintsAreNotUniqueViolations() =>
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(new SqliteException("NOT NULL constraint failed: Users.Email", 19, 1299)).Kind);

    [Fact]
    public void ExhaustedRetriesAndCredentialFailuresAreTransient()
    {
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(new RetryLimitExceededException("retries", new InvalidOperationException())).Kind);
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(new CredentialUnavailableException("no identity")).Kind);
    }

    [Fact]
    public void UnrelatedExceptionsAreOther() =>
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(new InvalidOperationException("bug")).Kind);

    [Fact]
    public void SqlClientsPoolWaitTimeoutIsTransient()
    {
        // The exception SqlClient throws when every pooled connection is in use for Connect Timeout, made by its own factory.
        var factory = typeof(SqlConnection).Assembly.GetTypes()
            .Select(t => t.GetMethod("PooledOpenTimeout", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes))
            .Single(m => m is not null)!;
        var exception = Assert.IsType<InvalidOperationException>(factory.Invoke(null, null));

        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(exception).Kind);
    }

    [Fact]
    public void OtherInvalidOperationsMentioningTimeoutsOrPoolsAreOther()
    {
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(new InvalidOperationException("Timeout expired while reading the pool table.")).Kind);
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(new InvalidOperationException("The connection was not closed. The connection's current state is open.")).Kind);
        // SqlClient's words, but thrown by other code.
        var thrownHere = Assert.Throws<InvalidOperationException>(ThrowPoolTimeoutLookalike);
        Assert.Equal(DatabaseFailureKind.Other, DatabaseErrors.Classify(thrownHere).Kind);
    }

    private static void ThrowPoolTimeoutLookalike() =>
        throw new InvalidOperationException("Timeout expired prior to obtaining a connection from the pool.");

    private static PostgresException PostgresError(string sqlState, string? constraint = null, string message = "failure") =>
        new(message, "ERROR", "ERROR", sqlState, constraintName: constraint);

    // SqlException has no public constructor; build one the way SqlClient does, through its internal factory.
    private static SqlException SqlExceptionWith(int number, string message)
    {
        const BindingFlags Internal = BindingFlags.NonPublic | BindingFlags.Instance;
        var constructor = typeof(SqlError).GetConstructors(Internal)
            .Where(c => c.GetParameters().Length >= 8)
            .OrderBy(c => c.GetParameters().Length)
            .First();
        var error = (SqlError)constructor.Invoke(ArgumentsFor(constructor, number, message));
        var errors = (SqlErrorCollection)Activator.CreateInstance(typeof(SqlErrorCollection), nonPublic: true)!;
        typeof(SqlErrorCollection).GetMethod("Add", Internal)!.Invoke(errors, [error]);
        var create = typeof(SqlException).GetMethod("CreateException", BindingFlags.NonPublic | BindingFlags.Static, [typeof(SqlErrorCollection), typeof(string)])!;
        return (SqlException)create.Invoke(null, [errors, "16.0.0"])!;
    }

    private static object?[] ArgumentsFor(ConstructorInfo constructor, int number, string message) =>
        constructor.GetParameters().Select(p => p.Name switch
        {
            "infoNumber" => (object?)number,
            "errorState" => (byte)1,
            "errorClass" => (byte)16,
            "server" => "server",
            "errorMessage" => message,
            "procedure" => "",
            "lineNumber" => 1,
            "win32ErrorCode" => (uint)0,
            "exception" => null,
            "batchIndex" => -1,
            _ => p.HasDefaultValue ? p.DefaultValue : (p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null),
        }).ToArray();
}
