using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.Users;

/// <summary>
/// The users writes, each a <see cref="VerifiedWrites"/> operation: a retried attempt first asks whether the failed one
/// committed (its fresh <see cref="User.Version"/> tells), and a keyed write stores its response in the same transaction.
/// </summary>
internal static partial class UserWrites
{
    public static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpRequest request, UserServices services, UserRequest valid, IdempotencyClaim? claim)
    {
        var db = services.Db;
        User? user = null;
        var id = await VerifiedWrites.ExecuteAsync(
            db,
            async ct =>
            {
                // Every attempt starts afresh: one that failed may have left its user tracked, with an id the database never kept.
                db.ChangeTracker.Clear();
                user = User.Create(valid, services.Clock.GetUtcNow().UtcDateTime);
                db.Users.Add(user);
                await db.SaveChangesAsync(ct);
                if (claim is not null)
                {
                    await services.Idempotency.CompleteAsync(
                        claim, Stored(StatusCodes.Status201Created, user, UserPath(request, user.Id)), ApiJsonContext.Default.UserResponse, ct);
                }

                return user.Id;
            },
            // Asked only about an attempt whose write began, so it made its user.
            ct => db.Users
                .Where(u => u.NormalizedUsername == user!.NormalizedUsername && u.Version == user.Version)
                .Select(u => (int?)u.Id)
                .FirstOrDefaultAsync(ct),
            inTransaction: claim is not null,
            request.HttpContext.RequestAborted);

        LogCreated(services.Logger, id);
        ETags.Set(request.HttpContext.Response, user!.Version); // the attempt that succeeded made it
        return TypedResults.Created(UserPath(request, id), user.ToResponse() with { Id = id });
    }

    /// <summary>
    /// PUT and PATCH. <paramref name="valid"/> holds the members to write (a null one keeps the stored column); when the
    /// request's values are <paramref name="invalid"/>, that is answered once the user is known to exist and If-Match allows.
    /// Without If-Match (last writer wins) a valid change is one statement, <see cref="WriteUnreadAsync"/>. With If-Match the
    /// version must be a condition of the write, and EF's tracked UPDATE conditions only on the key and concurrency tokens,
    /// per model, not per save; so the user is read, checked and written with an <c>ExecuteUpdate</c> guarded by the version read.
    /// </summary>
    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        HttpRequest request, UserServices services, int userId, IdempotencyClaim? claim, UserRequest valid, Dictionary<string, string[]>? invalid)
    {
        var db = services.Db;
        var cancellationToken = request.HttpContext.RequestAborted;
        var now = services.Clock.GetUtcNow().UtcDateTime;
        UserResponse? updated;
        if (!ETags.HasIfMatch(request) && invalid is null)
        {
            updated = await WriteUnreadAsync(request, services, userId, claim, valid, now);
            if (updated is null)
            {
                return ApiProblems.UserNotFound();
            }
        }
        else
        {
            var current = await services.Queries.FindByIdAsync(db, userId, cancellationToken);
            if (current is null)
            {
                return ApiProblems.UserNotFound();
            }

            if (!ETags.IfMatchAllows(request, current.Version))
            {
                return ApiProblems.PreconditionFailed();
            }

            if (invalid is not null)
            {
                return ApiProblems.Validation(invalid);
            }

            updated = current with
            {
                Username = valid.Username ?? current.Username,
                Email = valid.Email ?? current.Email,
                UpdatedAt = now,
                Version = Guid.NewGuid(),
            };
            var written = await VerifiedWrites.ExecuteAsync(
                db,
                async ct =>
                {
                    var rows = await db.Users
                        .Where(u => u.Id == userId && u.Version == current.Version)
                        .ExecuteUpdateAsync(User.ReplacementSetters(valid, now, updated.Version), ct);
                    if (rows == 1 && claim is not null)
                    {
                        await services.Idempotency.CompleteAsync(
                            claim, Stored(StatusCodes.Status200OK, updated, location: null), ApiJsonContext.Default.UserResponse, ct);
                    }

                    return rows == 1;
                },
                async ct => await db.Users.AnyAsync(u => u.Id == userId && u.Version == updated.Version, ct) ? true : null,
                inTransaction: claim is not null,
                cancellationToken);
            if (!written)
            {
                // Another write came between the read and this one: the version If-Match named is gone.
                return ApiProblems.PreconditionFailed();
            }
        }

        LogUpdated(services.Logger, userId);
        ETags.Set(request.HttpContext.Response, updated.Version);
        return TypedResults.Ok(updated);
    }

    /// <summary>
    /// One <c>UPDATE Users SET &lt;the columns it sets&gt; WHERE Id = @id RETURNING &lt;the response's columns it leaves&gt;</c>
    /// (OUTPUT on SQL Server): a stub of the user, attached unchanged and replaced, saved by EF's change tracker, which reads
    /// back the columns the model generates on update (UserConfiguration). No row is no user: null, and nothing else is asked.
    /// </summary>
    private static async Task<UserResponse?> WriteUnreadAsync(
        HttpRequest request, UserServices services, int userId, IdempotencyClaim? claim, UserRequest valid, DateTime now)
    {
        var db = services.Db;
        UserResponse? updated = null;
        var version = Guid.Empty;
        var found = await VerifiedWrites.ExecuteAsync(
            db,
            async ct =>
            {
                // Every attempt starts afresh: one that failed left its stub tracked as modified.
                db.ChangeTracker.Clear();
                var user = User.Stub(userId);
                db.Users.Attach(user);
                user.Replace(valid, now);
                version = user.Version;
                try
                {
                    await db.SaveChangesAsync(ct);
                }
                catch (DbUpdateConcurrencyException)
                {
                    return false;
                }

                updated = user.ToResponse();
                if (claim is not null)
                {
                    await services.Idempotency.CompleteAsync(
                        claim, Stored(StatusCodes.Status200OK, updated, location: null), ApiJsonContext.Default.UserResponse, ct);
                }

                return true;
            },
            // Asked only after a failure: the reply that would have carried the columns was lost, so they are read here.
            async ct => (updated = await db.Users.AsNoTracking()
                .Where(u => u.Id == userId && u.Version == version)
                .Select(UserResponse.FromUser)
                .FirstOrDefaultAsync(ct)) is null ? null : true,
            inTransaction: claim is not null,
            request.HttpContext.RequestAborted);
        return found ? updated : null;
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(HttpRequest request, UserServices services, int userId)
    {
        var db = services.Db;
        var cancellationToken = request.HttpContext.RequestAborted;
        var target = db.Users.Where(u => u.Id == userId);
        if (ETags.HasIfMatch(request))
        {
            // Read, check, then delete only that version: a concurrent update in between deletes nothing.
            var version = await target.Select(u => (Guid?)u.Version).FirstOrDefaultAsync(cancellationToken);
            if (version is null)
            {
                return ApiProblems.UserNotFound();
            }

            if (!ETags.IfMatchAllows(request, version.Value)
                || await DeleteVerifiedAsync(db, userId, target.Where(u => u.Version == version.Value), cancellationToken) == 0)
            {
                return ApiProblems.PreconditionFailed();
            }
        }
        else if (await DeleteVerifiedAsync(db, userId, target, cancellationToken) == 0)
        {
            return ApiProblems.UserNotFound();
        }

        LogDeleted(services.Logger, userId);
        return TypedResults.NoContent();
    }

    // A retried delete whose first attempt committed finds nothing to delete: the row being gone is what it wanted.
    private static Task<int> DeleteVerifiedAsync(UsersDbContext db, int userId, IQueryable<User> rows, CancellationToken cancellationToken) =>
        VerifiedWrites.ExecuteAsync(
            db,
            rows.ExecuteDeleteAsync,
            async ct => await db.Users.AnyAsync(u => u.Id == userId, ct) ? null : 1,
            inTransaction: false,
            cancellationToken);

    private static StoredResponse<UserResponse> Stored(int statusCode, User user, string? location) =>
        Stored(statusCode, user.ToResponse(), location);

    private static StoredResponse<UserResponse> Stored(int statusCode, UserResponse user, string? location) =>
        new(statusCode, user, location, ETags.For(user.Version));

    internal static string UserPath(HttpRequest request, int id) =>
        $"{(request.PathBase + request.Path).Value!.TrimEnd('/')}/{id.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Created user {UserId}")]
    private static partial void LogCreated(ILogger logger, int userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated user {UserId}")]
    private static partial void LogUpdated(ILogger logger, int userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted user {UserId}")]
    private static partial void LogDeleted(ILogger logger, int userId);
}
