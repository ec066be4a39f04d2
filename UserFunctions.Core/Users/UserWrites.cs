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
    /// Reads the user (no tracking), checks If-Match, applies <paramref name="change"/> (the valid request it makes of the
    /// current user) and writes it with one <c>UPDATE … WHERE Id = @id AND Version = @read</c>. The read is what the response
    /// needs (<c>createdAt</c>; a PATCH's untouched members), which EF cannot return from an <c>UPDATE</c>. An update that finds
    /// another version lost a race: with If-Match that is a 412; without it the client asked for no precondition, so the
    /// change is applied again to the fresh row (last writer wins).
    /// </summary>
    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        HttpRequest request, UserServices services, int userId, IdempotencyClaim? claim, Func<UserResponse, UserRequest> change)
    {
        const int MaxAttempts = 3;
        var db = services.Db;
        var cancellationToken = request.HttpContext.RequestAborted;
        for (var attempt = 1; ; attempt++)
        {
            var current = await services.Queries.FindById(db, userId, cancellationToken);
            if (current is null)
            {
                return ApiProblems.UserNotFound();
            }

            if (!ETags.IfMatchAllows(request, current.Version))
            {
                return ApiProblems.PreconditionFailed();
            }

            if (!UserValidation.TryValidate(change(current), out var valid, out var errors))
            {
                return ApiProblems.Validation(errors);
            }

            var updated = current with { Username = valid.Username!, Email = valid.Email!, UpdatedAt = services.Clock.GetUtcNow().UtcDateTime, Version = Guid.NewGuid() };
            var written = await VerifiedWrites.ExecuteAsync(
                db,
                async ct =>
                {
                    var rows = await db.Users
                        .Where(u => u.Id == userId && u.Version == current.Version)
                        .ExecuteUpdateAsync(User.ReplacementSetters(valid, updated.UpdatedAt, updated.Version), ct);
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
                if (!ETags.HasIfMatch(request) && attempt < MaxAttempts)
                {
                    continue;
                }

                return ApiProblems.PreconditionFailed();
            }

            LogUpdated(services.Logger, userId);
            ETags.Set(request.HttpContext.Response, updated.Version);
            return TypedResults.Ok(updated);
        }
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
