using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

public sealed class SqliteConstraintTests(SqliteTestDatabase database) : ConstraintTests<SqliteTestDatabase>(database);

public sealed class PostgreSqlConstraintTests(PostgreSqlTestDatabase database) : ConstraintTests<PostgreSqlTestDatabase>(database);

/// <summary>Case-insensitive uniqueness, updates of a user not read first, and UTC timestamps, the same on every provider.</summary>
public abstract class ConstraintTests<TDatabase>(TDatabase database) : IClassFixture<TDatabase>, IAsyncLifetime
    where TDatabase : TestDatabase
{
    private static readonly DateTime Now = new(2026, 11, 24, 9, 0, 0, DateTimeKind.Utc);

    public Task InitializeAsync() => database.EmptyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task TheDatabaseRejectsAUsernameThatDiffersOnlyInCase()
    {
        await AddAsync(User.Create(new UserRequest("john_doe", "john@example.com"), Now));

        var exception = await Assert.ThrowsAsync<DbUpdateException>(() => AddAsync(User.Create(new UserRequest("John_Doe", "other@example.com"), Now)));

        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, "username"), DatabaseErrors.Classify(exception));
    }

    [Fact]
    public async Task TheDatabaseRejectsAnEmailThatDiffersOnlyInCase()
    {
        await AddAsync(User.Create(new UserRequest("john_doe", "john@example.com"), Now));

        var exception = await Assert.ThrowsAsync<DbUpdateException>(() => AddAsync(User.Create(new UserRequest("jane_doe", "JOHN@Example.COM"), Now)));

        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, "email"), DatabaseErrors.Classify(exception));
    }

    [Fact]
    public async Task ADuplicateEmailThatContainsTheWordUsernameIsStillAnEmailConflict()
    {
        await AddAsync(User.Create(new UserRequest("john_doe", "username@example.com"), Now));

        var exception = await Assert.ThrowsAsync<DbUpdateException>(() => AddAsync(User.Create(new UserRequest("jane_doe", "UserName@example.com"), Now)));

        Assert.Equal(new DatabaseFailure(DatabaseFailureKind.UniqueViolation, "email"), DatabaseErrors.Classify(exception));
    }

    [Fact]
    public async Task SavingAnUpdateOfAUserDeletedMeanwhileThrowsTheConcurrencyException()
    {
        var user = User.Create(new UserRequest("john_doe", "john@example.com"), Now);
        await AddAsync(user);

        await using var db = database.CreateContext();
        var stub = User.Stub(user.Id);
        db.Users.Attach(stub);
        stub.Replace(new UserRequest("john_second", "second@example.com"), Now.AddMinutes(2));
        await using (var other = database.CreateContext())
        {
            await other.Users.Where(u => u.Id == user.Id).ExecuteDeleteAsync();
        }

        var exception = await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => db.SaveChangesAsync());
        Assert.Equal(DatabaseFailureKind.Concurrency, DatabaseErrors.Classify(exception).Kind);
    }

    [Fact]
    public async Task AnUpdateOfOneMemberKeepsTheOthersAndReadsThemBack()
    {
        var user = User.Create(new UserRequest("john_doe", "john@example.com"), Now);
        await AddAsync(user);

        await using (var db = database.CreateContext())
        {
            var stub = User.Stub(user.Id);
            db.Users.Attach(stub);
            stub.Replace(new UserRequest("jane_doe", Email: null), Now.AddMinutes(1));
            await db.SaveChangesAsync();

            Assert.Equal(("jane_doe", "john@example.com", Now, Now.AddMinutes(1)), (stub.Username, stub.Email, stub.CreatedAt, stub.UpdatedAt));
        }

        await using var check = database.CreateContext();
        var stored = await check.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal(("jane_doe", "JANE_DOE", "john@example.com", "JOHN@EXAMPLE.COM", Now), (stored.Username, stored.NormalizedUsername, stored.Email, stored.NormalizedEmail, stored.CreatedAt));
    }

    [Fact]
    public async Task TimestampsComeBackAsUtc()
    {
        var user = User.Create(new UserRequest("john_doe", "john@example.com"), Now);
        await AddAsync(user);

        await using var db = database.CreateContext();
        var stored = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);

        Assert.Equal(DateTimeKind.Utc, stored.CreatedAt.Kind);
        Assert.Equal(Now, stored.CreatedAt);
        Assert.Equal(user.Version, stored.Version);
    }

    private async Task AddAsync(User user)
    {
        await using var db = database.CreateContext();
        db.Users.Add(user);
        await db.SaveChangesAsync();
    }
}
