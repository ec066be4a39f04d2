using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;

namespace UserFunctions.Core.Data;

/// <summary>A key this request holds: completing or releasing it checks the token, so a claim taken over is never completed twice.</summary>
public sealed record IdempotencyClaim(string Key, Guid Token);

/// <summary>The first response to a key's request, replayed to its repeats.</summary>
public sealed record StoredResponse<TBody>(int StatusCode, TBody Body, string? Location, string? ETag);

public enum ClaimRefusal
{
    None,

    /// <summary>Another request holds the key and has not finished (or its process died less than a lease ago).</summary>
    InProgress,

    /// <summary>The key was first used with a different request.</summary>
    Reused,
}

/// <summary>What claiming a key gave: the claim, or the stored response to replay, or a refusal.</summary>
public readonly record struct ClaimResult<TBody>(IdempotencyClaim? Claim, StoredResponse<TBody>? Replay, ClaimRefusal Refusal);

/// <summary>Thrown inside a write's transaction when its claim was taken over: the write must roll back rather than answer the key twice.</summary>
public sealed class IdempotencyClaimLostException : Exception;

/// <summary>
/// <c>Idempotency-Key</c> rows: a request claims its key (an in-progress row), does its write, and completes the key with
/// its response in the same transaction, so a stored response exists exactly when the write committed. A request that
/// ends without one releases its claim; an abandoned claim is taken over after <see cref="Lease"/>.
/// </summary>
public sealed partial class IdempotencyStore(UsersDbContext db, TimeProvider clock, ILogger<IdempotencyStore> logger)
{
    /// <summary>Keys are answered from for this long, then deleted (<see cref="ExpiredIdempotencyKeySweep"/>).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>An in-progress claim older than this was abandoned (its process died) and may be taken over.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    /// <summary>A release runs whether or not the client still waits, but never holds its answer longer than this.</summary>
    public static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(2);

    public async Task<ClaimResult<TBody>> ClaimAsync<TBody>(
        string key, byte[] fingerprint, JsonTypeInfo<TBody> bodyType, CancellationToken cancellationToken)
    {
        const int MaxAttempts = 3;
        var now = clock.GetUtcNow().UtcDateTime;
        var expired = now - Retention;
        var abandoned = now - Lease;

        for (var attempt = 1; ; attempt++)
        {
            var claim = new IdempotencyClaim(key, Guid.NewGuid());
            if (await TryInsertAsync(claim, fingerprint, now, cancellationToken))
            {
                return new(claim, null, ClaimRefusal.None);
            }

            var existing = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Key == key, cancellationToken);
            if (existing is null)
            {
                // Released in the meantime: claim it again.
                if (attempt < MaxAttempts)
                {
                    continue;
                }

                return new(null, null, ClaimRefusal.InProgress);
            }

            if (existing.ClaimedAt < expired)
            {
                // Expired but not yet swept: the key is free again, whatever its first request was.
                if (await TakeOverExpiredAsync(existing, claim, fingerprint, now, cancellationToken))
                {
                    return new(claim, null, ClaimRefusal.None);
                }

                if (attempt < MaxAttempts)
                {
                    continue;
                }

                return new(null, null, ClaimRefusal.InProgress);
            }

            if (!fingerprint.AsSpan().SequenceEqual(existing.Fingerprint))
            {
                return new(null, null, ClaimRefusal.Reused);
            }

            if (existing.StatusCode is { } statusCode)
            {
                LogReplayed(logger, statusCode);
                var body = JsonSerializer.Deserialize(existing.ResponseBody!, bodyType)!;
                return new(null, new StoredResponse<TBody>(statusCode, body, existing.Location, existing.ETag), ClaimRefusal.None);
            }

            if (existing.ClaimedAt > abandoned || attempt == MaxAttempts)
            {
                return new(null, null, ClaimRefusal.InProgress);
            }

            var takenOver = await db.IdempotencyKeys
                .Where(k => k.Key == key && k.Token == existing.Token && k.StatusCode == null)
                .ExecuteUpdateAsync(k => k.SetProperty(x => x.Token, claim.Token).SetProperty(x => x.ClaimedAt, now), cancellationToken);
            if (takenOver == 1)
            {
                return new(claim, null, ClaimRefusal.None);
            }
        }
    }

    /// <summary>Stores the response of a successful write; call it inside the write's transaction.</summary>
    public async Task CompleteAsync<TBody>(
        IdempotencyClaim claim, StoredResponse<TBody> response, JsonTypeInfo<TBody> bodyType, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(response.Body, bodyType);
        var completed = await db.IdempotencyKeys
            .Where(k => k.Key == claim.Key && k.Token == claim.Token)
            .ExecuteUpdateAsync(
                k => k.SetProperty(x => x.StatusCode, response.StatusCode)
                    .SetProperty(x => x.ResponseBody, json)
                    .SetProperty(x => x.Location, response.Location)
                    .SetProperty(x => x.ETag, response.ETag),
                cancellationToken);
        if (completed == 0)
        {
            throw new IdempotencyClaimLostException();
        }
    }

    /// <summary>
    /// Frees a claim whose request did not succeed, so the client can retry with the same key. Whatever went wrong, the claim
    /// must not outlive the request; if the database cannot be reached within <see cref="ReleaseTimeout"/> (the request has
    /// usually spent its retry budget by then), the lease frees the key.
    /// </summary>
    public async Task ReleaseAsync(IdempotencyClaim claim)
    {
        try
        {
            db.ChangeTracker.Clear();
            using var timeout = new CancellationTokenSource(ReleaseTimeout);
            await db.IdempotencyKeys
                .Where(k => k.Key == claim.Key && k.Token == claim.Token && k.StatusCode == null)
                .ExecuteDeleteAsync(timeout.Token);
        }
        catch (Exception exception) when (exception is DbException or DbUpdateException or RetryLimitExceededException
            or InvalidOperationException or TimeoutException or OperationCanceledException)
        {
            LogReleaseFailed(logger, exception);
        }
    }

    private async Task<bool> TakeOverExpiredAsync(
        IdempotencyKey expired, IdempotencyClaim claim, byte[] fingerprint, DateTime now, CancellationToken cancellationToken) =>
        await db.IdempotencyKeys
            .Where(k => k.Key == claim.Key && k.Token == expired.Token)
            .ExecuteUpdateAsync(
                k => k.SetProperty(x => x.Token, claim.Token)
                    .SetProperty(x => x.Fingerprint, fingerprint)
                    .SetProperty(x => x.ClaimedAt, now)
                    .SetProperty(x => x.StatusCode, (int?)null)
                    .SetProperty(x => x.ResponseBody, (string?)null)
                    .SetProperty(x => x.Location, (string?)null)
                    .SetProperty(x => x.ETag, (string?)null),
                cancellationToken) == 1;

    private async Task<bool> TryInsertAsync(IdempotencyClaim claim, byte[] fingerprint, DateTime now, CancellationToken cancellationToken)
    {
        db.IdempotencyKeys.Add(new IdempotencyKey { Key = claim.Key, Token = claim.Token, Fingerprint = fingerprint, ClaimedAt = now });
        try
        {
            await VerifiedWrites.ExecuteAsync(
                db,
                ct => db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct),
                async ct => await db.IdempotencyKeys.AnyAsync(k => k.Key == claim.Key && k.Token == claim.Token, ct) ? 1 : null,
                inTransaction: false,
                cancellationToken);
            return true;
        }
        catch (DbUpdateException exception) when (DatabaseErrors.Classify(exception).Kind == DatabaseFailureKind.UniqueViolation)
        {
            return false;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the stored {StatusCode} response of an Idempotency-Key")]
    private static partial void LogReplayed(ILogger logger, int statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release an Idempotency-Key claim; it frees itself when its lease ends")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception);
}
