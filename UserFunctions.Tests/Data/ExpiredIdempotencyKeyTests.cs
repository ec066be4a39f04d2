using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Data;

public sealed class SqliteExpiredIdempotencyKeyTests(SqliteTestDatabase database) : ExpiredIdempotencyKeyTests<SqliteTestDatabase>(database);

public sealed class PostgreSqlExpiredIdempotencyKeyTests(PostgreSqlTestDatabase database) : ExpiredIdempotencyKeyTests<PostgreSqlTestDatabase>(database);

/// <summary>Expired keys leave the table off the request path, and one that is not yet swept is free all the same.</summary>
public abstract class ExpiredIdempotencyKeyTests<TDatabase>(TDatabase database) : IClassFixture<TDatabase>, IAsyncLifetime
    where TDatabase : TestDatabase
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(Start);

    public Task InitializeAsync() => database.ExecuteSqlAsync("""DELETE FROM "IdempotencyKeys" """);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task EachIntervalTheSweepDeletesTheKeysClaimedMoreThanTheRetentionAgo()
    {
        await AddKeyAsync("old", Start - IdempotencyStore.Retention - TimeSpan.FromSeconds(1));
        await AddKeyAsync("young", Start - IdempotencyStore.Retention + ExpiredIdempotencyKeySweep.Interval + TimeSpan.FromSeconds(1));
        await AddKeyAsync("fresh", Start);
        await using var services = new ServiceCollection().AddScoped(_ => database.CreateContext()).BuildServiceProvider();
        using var sweep = new ExpiredIdempotencyKeySweep(
            services.GetRequiredService<IServiceScopeFactory>(), _clock, NullLogger<ExpiredIdempotencyKeySweep>.Instance);
        await sweep.StartAsync(CancellationToken.None);

        _clock.Advance(ExpiredIdempotencyKeySweep.Interval);
        await Poll.UntilAsync(async () => (await KeysAsync()).SequenceEqual(["fresh", "young"]));

        _clock.Advance(ExpiredIdempotencyKeySweep.Interval);
        await Poll.UntilAsync(async () => (await KeysAsync()).SequenceEqual(["fresh"]));
        await sweep.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AnExpiredKeyThatIsNotSweptYetIsFreeForAnyRequest()
    {
        await AddKeyAsync("expired", Start - IdempotencyStore.Retention - TimeSpan.FromSeconds(1), completed: true);
        await using var db = database.CreateContext();
        var store = new IdempotencyStore(db, _clock, NullLogger<IdempotencyStore>.Instance);

        var claimed = await store.ClaimAsync("expired", Fingerprint(2), ApiJsonContext.Default.UserResponse, CancellationToken.None);

        Assert.NotNull(claimed.Claim);
        Assert.Null(claimed.Replay);
        var row = await db.IdempotencyKeys.AsNoTracking().SingleAsync();
        Assert.Equal((claimed.Claim.Token, Start.UtcDateTime, (int?)null, (string?)null), (row.Token, row.ClaimedAt, row.StatusCode, row.ResponseBody));
        Assert.Equal(Fingerprint(2), row.Fingerprint);
    }

    [Fact]
    public async Task AKeyWithinTheRetentionIsStillAnsweredFrom()
    {
        await AddKeyAsync("kept", Start - IdempotencyStore.Retention + TimeSpan.FromSeconds(1), completed: true);
        await using var db = database.CreateContext();
        var store = new IdempotencyStore(db, _clock, NullLogger<IdempotencyStore>.Instance);

        var claimed = await store.ClaimAsync("kept", Fingerprint(1), ApiJsonContext.Default.UserResponse, CancellationToken.None);

        Assert.Null(claimed.Claim);
        Assert.Equal(201, claimed.Replay?.StatusCode);
    }

    private static byte[] Fingerprint(byte value) => Enumerable.Repeat(value, IdempotencyKey.FingerprintLength).ToArray();

    private async Task AddKeyAsync(string key, DateTimeOffset claimedAt, bool completed = false)
    {
        await using var db = database.CreateContext();
        db.IdempotencyKeys.Add(new IdempotencyKey
        {
            Key = key,
            Token = Guid.NewGuid(),
            Fingerprint = Fingerprint(1),
            ClaimedAt = claimedAt.UtcDateTime,
            StatusCode = completed ? 201 : null,
            ResponseBody = completed ? """{"id":1,"username":"john_doe","email":"john@example.com","createdAt":"2026-11-23T09:00:00Z","updatedAt":"2026-11-23T09:00:00Z"}""" : null,
        });
        await db.SaveChangesAsync();
    }

    private async Task<List<string>> KeysAsync()
    {
        await using var db = database.CreateContext();
        return await db.IdempotencyKeys.OrderBy(k => k.Key).Select(k => k.Key).ToListAsync();
    }
}
