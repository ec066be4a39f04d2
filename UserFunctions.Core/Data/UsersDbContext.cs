using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using UserFunctions.Core.Users;

namespace UserFunctions.Core.Data;

/// <summary>
/// The one context the API uses. Each provider has its own subclass only so that it can own a migration set
/// (EF Core's "multiple context types" approach; see docs/data.md):
/// <c>bash deploy/add-migration.sh &lt;Name&gt;</c> adds one to each, in UserFunctions.Migrations (<see cref="UsersMigrations"/>).
/// </summary>
public abstract class UsersDbContext(DbContextOptions options) : DbContext(options)
{
    private (int Lease, long StartedAt) _retryBudget = (-1, 0);

    public DbSet<User> Users => Set<User>();

    public DbSet<IdempotencyKey> IdempotencyKeys => Set<IdempotencyKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder
        .ApplyConfiguration(new UserConfiguration())
        .ApplyConfiguration(new IdempotencyKeyConfiguration());

    /// <summary>
    /// When this lease's retry budget started: at its first database operation. A pooled context's lease is one request
    /// (<see cref="DbContextId.Lease"/> counts them), so every operation of a request draws on one budget.
    /// </summary>
    internal long RetryBudgetStart()
    {
        var lease = ContextId.Lease;
        if (_retryBudget.Lease != lease)
        {
            _retryBudget = (lease, Stopwatch.GetTimestamp());
        }

        return _retryBudget.StartedAt;
    }

    // SQLite and SQL Server hand back DateTime with an unspecified kind, and Npgsql writes only UTC ones to timestamptz; the API promises UTC.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
}

public sealed class SqliteUsersDbContext(DbContextOptions<SqliteUsersDbContext> options) : UsersDbContext(options);

public sealed class SqlServerUsersDbContext(DbContextOptions<SqlServerUsersDbContext> options) : UsersDbContext(options);

public sealed class PostgreSqlUsersDbContext(DbContextOptions<PostgreSqlUsersDbContext> options) : UsersDbContext(options);

public sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
    value => value.ToUniversalTime(),
    value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
