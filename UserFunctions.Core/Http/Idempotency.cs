using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Core.Http;

/// <summary>A request's <c>Idempotency-Key</c> and the fingerprint of the request it names (method, path, If-Match, body).</summary>
internal sealed class IdempotentRequest(string key, IncrementalHash fingerprint) : IDisposable
{
    public string Key { get; } = key;

    public IncrementalHash Fingerprint { get; } = fingerprint;

    public void Dispose() => Fingerprint.Dispose();
}

/// <summary>A key this request holds: completing or releasing it checks the token, so a claim taken over is never completed twice.</summary>
internal sealed record IdempotencyClaim(string Key, Guid Token);

/// <summary>
/// <c>Idempotency-Key</c> on POST and PATCH (IETF httpapi draft "The Idempotency-Key HTTP Header Field"). A request with a key
/// claims it (an in-progress row), does its write, and stores its response in the same transaction as the write, so a
/// stored response exists exactly when the write committed. A repeat replays that response; a request that ends without a
/// 2xx releases the key. See docs/api.md.
/// </summary>
internal static partial class Idempotency
{
    public const string HeaderName = "Idempotency-Key";

    /// <summary>Keys are answered from for this long, then deleted.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>An in-progress claim older than this was abandoned (its process died) and may be taken over.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    /// <returns>False with a 400 problem when the header is malformed; true otherwise, with null when there is no header.</returns>
    public static bool TryRead(HttpRequest request, out IdempotentRequest? idempotent, [NotNullWhen(false)] out IResult? problem)
    {
        idempotent = null;
        problem = null;
        // A header sent empty may arrive as no value at all.
        if (!request.Headers.TryGetValue(HeaderName, out var values))
        {
            return true;
        }

        if (values.Count != 1 || !TryParseKey(values[0], out var key))
        {
            problem = ApiProblems.IdempotencyKeyMalformed();
            return false;
        }

        var fingerprint = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendField(fingerprint, request.Method);
        AppendField(fingerprint, (request.PathBase + request.Path).Value);
        AppendField(fingerprint, request.Headers.IfMatch.ToString());
        idempotent = new IdempotentRequest(key, fingerprint);
        return true;
    }

    /// <summary>
    /// The draft's sf-string (<c>"..."</c>, printable ASCII with <c>\"</c> and <c>\\</c> escapes), or a bare token of visible
    /// ASCII without quotes or backslashes, since many clients send a bare UUID. Either way 1 to 255 characters.
    /// </summary>
    internal static bool TryParseKey(string? value, [NotNullWhen(true)] out string? key)
    {
        key = null;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        if (value[0] != '"')
        {
            if (value.Length > IdempotencyKey.KeyMaxLength || value.Any(c => c is <= ' ' or > '~' or '"' or '\\'))
            {
                return false;
            }

            key = value;
            return true;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '"')
            {
                if (i != value.Length - 1 || builder.Length is 0 or > IdempotencyKey.KeyMaxLength)
                {
                    return false;
                }

                key = builder.ToString();
                return true;
            }

            if (c == '\\')
            {
                if (++i == value.Length || value[i] is not ('"' or '\\'))
                {
                    return false;
                }

                c = value[i];
            }
            else if (c is < ' ' or > '~')
            {
                return false;
            }

            builder.Append(c);
        }

        return false; // no closing quote
    }

    /// <summary>
    /// Runs <paramref name="write"/> under the request's key, if it has one: answers from the key when it is taken, and
    /// releases it when the write does not succeed, so the client can retry with the same key.
    /// </summary>
    public static async Task<IResult> RunAsync(
        HttpRequest request, UsersDbContext db, TimeProvider clock, IdempotentRequest? idempotent, Func<IdempotencyClaim?, Task<IResult>> write)
    {
        if (idempotent is null)
        {
            return await write(null);
        }

        var (claim, answer) = await ClaimAsync(request.HttpContext, db, clock, idempotent.Key, idempotent.Fingerprint.GetHashAndReset());
        if (answer is not null)
        {
            return answer;
        }

        var succeeded = false;
        try
        {
            var result = await write(claim);
            succeeded = result is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 };
            return result;
        }
        catch (ClaimLostException)
        {
            return ApiProblems.IdempotencyKeyInProgress();
        }
        finally
        {
            if (!succeeded)
            {
                await ReleaseAsync(request.HttpContext, db, claim!);
            }
        }
    }

    /// <summary>Stores the response of a successful write; call it inside the write's transaction.</summary>
    public static async Task CompleteAsync(
        UsersDbContext db, IdempotencyClaim claim, int statusCode, UserResponse body, string? location, string etag, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(body, ApiJsonContext.Default.UserResponse);
        var completed = await db.IdempotencyKeys
            .Where(k => k.Key == claim.Key && k.Token == claim.Token)
            .ExecuteUpdateAsync(
                k => k.SetProperty(x => x.StatusCode, statusCode)
                    .SetProperty(x => x.ResponseBody, json)
                    .SetProperty(x => x.Location, location)
                    .SetProperty(x => x.ETag, etag),
                cancellationToken);
        if (completed == 0)
        {
            // Another request took the claim over: roll this write back rather than answer the key twice.
            throw new ClaimLostException();
        }
    }

    private static async Task<(IdempotencyClaim? Claim, IResult? Answer)> ClaimAsync(
        HttpContext context, UsersDbContext db, TimeProvider clock, string key, byte[] fingerprint)
    {
        const int MaxAttempts = 3;
        var cancellationToken = context.RequestAborted;
        var now = clock.GetUtcNow().UtcDateTime;
        var expired = now - Retention;
        var abandoned = now - Lease;
        await db.IdempotencyKeys.Where(k => k.ClaimedAt < expired).ExecuteDeleteAsync(cancellationToken);

        for (var attempt = 1; ; attempt++)
        {
            var claim = new IdempotencyClaim(key, Guid.NewGuid());
            if (await TryInsertAsync(db, claim, fingerprint, now, cancellationToken))
            {
                return (claim, null);
            }

            var existing = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Key == key, cancellationToken);
            if (existing is null)
            {
                // Released in the meantime: claim it again.
                if (attempt < MaxAttempts)
                {
                    continue;
                }

                return (null, ApiProblems.IdempotencyKeyInProgress());
            }

            if (!fingerprint.AsSpan().SequenceEqual(existing.Fingerprint))
            {
                return (null, ApiProblems.IdempotencyKeyReused());
            }

            if (existing.StatusCode is not null)
            {
                var logger = ApiProblems.Logger(context);
                LogReplayed(logger, existing.StatusCode.Value);
                return (null, Replay(existing, context.Response));
            }

            if (existing.ClaimedAt > abandoned || attempt == MaxAttempts)
            {
                return (null, ApiProblems.IdempotencyKeyInProgress());
            }

            var takenOver = await db.IdempotencyKeys
                .Where(k => k.Key == key && k.Token == existing.Token && k.StatusCode == null)
                .ExecuteUpdateAsync(k => k.SetProperty(x => x.Token, claim.Token).SetProperty(x => x.ClaimedAt, now), cancellationToken);
            if (takenOver == 1)
            {
                return (claim, null);
            }
        }
    }

    private static async Task<bool> TryInsertAsync(UsersDbContext db, IdempotencyClaim claim, byte[] fingerprint, DateTime now, CancellationToken cancellationToken)
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

    // Whatever went wrong, the claim must not outlive the request; if the database cannot be reached now, the lease frees the key.
    private static async Task ReleaseAsync(HttpContext context, UsersDbContext db, IdempotencyClaim claim)
    {
        try
        {
            db.ChangeTracker.Clear();
            await db.IdempotencyKeys
                .Where(k => k.Key == claim.Key && k.Token == claim.Token && k.StatusCode == null)
                .ExecuteDeleteAsync(CancellationToken.None);
        }
        catch (Exception exception) when (exception is DbException or DbUpdateException or RetryLimitExceededException or InvalidOperationException or TimeoutException)
        {
            var logger = ApiProblems.Logger(context);
            LogReleaseFailed(logger, exception);
        }
    }

    private static IResult Replay(IdempotencyKey stored, HttpResponse response)
    {
        if (stored.ETag is { } etag)
        {
            response.Headers.ETag = etag;
        }

        var body = JsonSerializer.Deserialize(stored.ResponseBody!, ApiJsonContext.Default.UserResponse)!;
        return stored.StatusCode == StatusCodes.Status201Created
            ? TypedResults.Created(stored.Location, body)
            : TypedResults.Ok(body);
    }

    private static void AppendField(IncrementalHash hash, string? value)
    {
        hash.AppendData(Encoding.UTF8.GetBytes(value ?? ""));
        hash.AppendData([0]);
    }

    private sealed class ClaimLostException : Exception;

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed the stored {StatusCode} response of an Idempotency-Key")]
    private static partial void LogReplayed(ILogger logger, int statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release an Idempotency-Key claim; it frees itself when its lease ends")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception);
}
