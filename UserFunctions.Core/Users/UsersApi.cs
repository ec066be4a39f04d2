using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.Users;

/// <summary>
/// The users operations of docs/contract.md. Each handler takes ASP.NET Core types and returns an <see cref="IResult"/>, so the
/// Functions app and any ASP.NET Core host run exactly this code. Database failures propagate: each host maps them to
/// problems in one place (<see cref="ApiExceptionHandler"/>, and the Functions app's worker middleware).
/// </summary>
public static partial class UsersApi
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    // EF binds a compiled query to the first model it runs on, and one process can serve several providers (the tests
    // do), so each provider's model gets its own set.
    private static readonly ConcurrentDictionary<IModel, CompiledQueries> QueriesByModel = new();

    private static CompiledQueries Queries(UsersDbContext db) => QueriesByModel.GetOrAdd(db.Model, static _ => new CompiledQueries());

    private sealed class CompiledQueries
    {
        public readonly Func<UsersDbContext, int, CancellationToken, Task<VersionedUser?>> FindById =
            EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
                .AsNoTracking()
                .Where(u => u.Id == id)
                .Select(u => new VersionedUser(new UserResponse(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt), u.Version))
                .FirstOrDefault());

        // Tracked: PUT and PATCH change this instance and save it with its version as the concurrency token.
        public readonly Func<UsersDbContext, int, CancellationToken, Task<User?>> FindForUpdate =
            EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users.FirstOrDefault(u => u.Id == id));

        // EF specializes the SQL for each null/non-null combination of the filters, so every variant is a plain
        // `WHERE Id > @after [AND NormalizedUsername = @u] [AND NormalizedEmail = @e]` served by the primary key or an index.
        public readonly Func<UsersDbContext, int, string?, string?, int, IAsyncEnumerable<UserResponse>> ListPage =
            EF.CompileAsyncQuery((UsersDbContext db, int afterId, string? normalizedUsername, string? normalizedEmail, int take) => db.Users
                .AsNoTracking()
                .Where(u => u.Id > afterId
                    && (normalizedUsername == null || u.NormalizedUsername == normalizedUsername)
                    && (normalizedEmail == null || u.NormalizedEmail == normalizedEmail))
                .OrderBy(u => u.Id)
                .Take(take)
                .Select(u => new UserResponse(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt)));
    }

    public static async Task<IResult> CreateUser(HttpRequest request, UsersDbContext db, TimeProvider clock)
    {
        if (!Idempotency.TryRead(request, out var idempotent, out var keyProblem))
        {
            return keyProblem;
        }

        using (idempotent)
        {
            var (body, problem) = await JsonBody.ReadAsync(request, ApiJsonContext.Default.UserRequest, fingerprint: idempotent?.Fingerprint);
            if (problem is not null)
            {
                return problem;
            }

            if (!UserValidation.TryValidate(body!.Username, body.Email, out var input, out var errors))
            {
                return ApiProblems.Validation(errors);
            }

            return await Idempotency.RunAsync(request, db, clock, idempotent, claim => InsertAsync(request, db, clock, input, claim));
        }
    }

    private static async Task<IResult> InsertAsync(HttpRequest request, UsersDbContext db, TimeProvider clock, ValidUser input, IdempotencyClaim? claim)
    {
        User? user = null;
        var id = await VerifiedWrites.ExecuteAsync(
            db,
            async ct =>
            {
                // Every attempt starts afresh: one that failed may have left its user tracked, with an id the database never kept.
                db.ChangeTracker.Clear();
                user = User.Create(input.Username, input.Email, clock.GetUtcNow().UtcDateTime);
                db.Users.Add(user);
                await db.SaveChangesAsync(ct);
                if (claim is not null)
                {
                    await Idempotency.CompleteAsync(
                        db, claim, StatusCodes.Status201Created, user.ToResponse(), UserPath(request, user.Id), ETags.For(user.Version), ct);
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

        var logger = ApiProblems.Logger(request.HttpContext);
        LogCreated(logger, id);
        ETags.Set(request.HttpContext.Response, user!.Version); // the attempt that succeeded made it
        return TypedResults.Created(UserPath(request, id), user.ToResponse() with { Id = id });
    }

    public static async Task<IResult> ListUsers(HttpRequest request, UsersDbContext db)
    {
        if (!TryReadLimit(request, out var limit))
        {
            return ApiProblems.Validation("limit", $"limit must be a whole number from 1 to {MaxPageSize}.");
        }

        var afterId = 0;
        if (request.Query.TryGetValue("cursor", out var cursor) && (cursor.Count != 1 || !PageCursor.TryDecode(cursor, out afterId)))
        {
            return ApiProblems.Validation("cursor", "cursor is not valid; use the 'next' link of a previous page.");
        }

        var username = LastQueryValue(request, "username");
        var email = LastQueryValue(request, "email");

        // One extra row tells whether another page exists without a COUNT.
        var items = new List<UserResponse>(limit + 1);
        await foreach (var user in Queries(db).ListPage(
            db,
            afterId,
            username is null ? null : User.Normalize(username.Trim()),
            email is null ? null : User.Normalize(email.Trim()),
            limit + 1).WithCancellation(request.HttpContext.RequestAborted))
        {
            items.Add(user);
        }

        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(limit);
            next = NextPageLink(request, limit, username, email, items[^1].Id);
        }

        return TypedResults.Ok(new UserPage(items, next));
    }

    public static async Task<IResult> GetUser(string id, HttpRequest request, UsersDbContext db)
    {
        if (!TryParseId(id, out var userId)
            || await Queries(db).FindById(db, userId, request.HttpContext.RequestAborted) is not { } found)
        {
            return ApiProblems.UserNotFound();
        }

        ETags.Set(request.HttpContext.Response, found.Version);
        return ETags.IfNoneMatchHits(request, found.Version)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Ok(found.User);
    }

    public static async Task<IResult> ReplaceUser(string id, HttpRequest request, UsersDbContext db, TimeProvider clock)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, ApiJsonContext.Default.UserRequest);
        if (problem is not null)
        {
            return problem;
        }

        if (!TryParseId(id, out var userId))
        {
            return ApiProblems.UserNotFound();
        }

        if (!UserValidation.TryValidate(body!.Username, body.Email, out var input, out var errors))
        {
            return ApiProblems.Validation(errors);
        }

        return await UpdateAsync(request, db, clock, userId, claim: null, _ => input);
    }

    public static async Task<IResult> PatchUser(string id, HttpRequest request, UsersDbContext db, TimeProvider clock)
    {
        if (!Idempotency.TryRead(request, out var idempotent, out var keyProblem))
        {
            return keyProblem;
        }

        using (idempotent)
        {
            var (patch, problem) = await JsonBody.ReadAsync(
                request, ApiJsonContext.Default.UserPatchRequest, allowMergePatch: true, fingerprint: idempotent?.Fingerprint);
            if (problem is not null)
            {
                return problem;
            }

            if (NullsForRequiredFields(patch!) is { Count: > 0 } nullErrors)
            {
                return ApiProblems.Validation(nullErrors);
            }

            if (!TryParseId(id, out var userId))
            {
                return ApiProblems.UserNotFound();
            }

            return await Idempotency.RunAsync(request, db, clock, idempotent, claim => UpdateAsync(request, db, clock, userId, claim, current =>
                UserValidation.TryValidate(
                    patch!.HasUsername ? patch.Username : current.Username,
                    patch.HasEmail ? patch.Email : current.Email,
                    out var merged,
                    out var errors)
                    ? merged
                    : errors));
        }
    }

    public static async Task<IResult> DeleteUser(string id, HttpRequest request, UsersDbContext db)
    {
        if (!TryParseId(id, out var userId))
        {
            return ApiProblems.UserNotFound();
        }

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

        var logger = ApiProblems.Logger(request.HttpContext);
        LogDeleted(logger, userId);
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

    /// <summary>
    /// Loads the user, checks If-Match, applies <paramref name="change"/> and saves. The version is a concurrency token, so a
    /// write that lost a race fails: with If-Match that is a 412; without it the client asked for no precondition, so the
    /// update is applied again on the fresh row (last writer wins).
    /// </summary>
    private static async Task<IResult> UpdateAsync(
        HttpRequest request, UsersDbContext db, TimeProvider clock, int userId, IdempotencyClaim? claim, Func<User, ValidationOutcome> change)
    {
        const int MaxAttempts = 3;
        var cancellationToken = request.HttpContext.RequestAborted;
        for (var attempt = 1; ; attempt++)
        {
            var user = await Queries(db).FindForUpdate(db, userId, cancellationToken);
            if (user is null)
            {
                return ApiProblems.UserNotFound();
            }

            if (!ETags.IfMatchAllows(request, user.Version))
            {
                return ApiProblems.PreconditionFailed();
            }

            var outcome = change(user);
            if (outcome.Errors is not null)
            {
                return ApiProblems.Validation(outcome.Errors);
            }

            user.Replace(outcome.User.Username, outcome.User.Email, clock.GetUtcNow().UtcDateTime);
            try
            {
                await VerifiedWrites.ExecuteAsync(
                    db,
                    async ct =>
                    {
                        // Changes are accepted only once the whole attempt committed, so a retried attempt writes them again.
                        await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
                        if (claim is not null)
                        {
                            await Idempotency.CompleteAsync(db, claim, StatusCodes.Status200OK, user.ToResponse(), null, ETags.For(user.Version), ct);
                        }

                        return true;
                    },
                    async ct => await db.Users.AnyAsync(u => u.Id == user.Id && u.Version == user.Version, ct) ? true : null,
                    inTransaction: claim is not null,
                    cancellationToken);
                db.ChangeTracker.AcceptAllChanges();
            }
            catch (DbUpdateConcurrencyException) when (!ETags.HasIfMatch(request) && attempt < MaxAttempts)
            {
                db.ChangeTracker.Clear();
                continue;
            }

            var logger = ApiProblems.Logger(request.HttpContext);
            LogUpdated(logger, user.Id);
            ETags.Set(request.HttpContext.Response, user.Version);
            return TypedResults.Ok(user.ToResponse());
        }
    }

    private readonly record struct ValidationOutcome(ValidUser User, Dictionary<string, string[]>? Errors)
    {
        public static implicit operator ValidationOutcome(ValidUser user) => new(user, null);

        public static implicit operator ValidationOutcome(Dictionary<string, string[]> errors) => new(default, errors);
    }

    private static Dictionary<string, string[]>? NullsForRequiredFields(UserPatchRequest patch)
    {
        Dictionary<string, string[]>? errors = null;
        if (patch.HasUsername && patch.Username is null)
        {
            (errors ??= [])["username"] = ["Username is required and cannot be removed (null)."];
        }

        if (patch.HasEmail && patch.Email is null)
        {
            (errors ??= [])["email"] = ["Email is required and cannot be removed (null)."];
        }

        return errors;
    }

    // Ids are positive 32-bit integers; anything else names no user.
    private static bool TryParseId(string id, out int userId) =>
        int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out userId) && userId > 0;

    private static bool TryReadLimit(HttpRequest request, out int limit)
    {
        limit = DefaultPageSize;
        if (!request.Query.TryGetValue("limit", out var values))
        {
            return true;
        }

        return values.Count == 1
            && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit)
            && limit is >= 1 and <= MaxPageSize;
    }

    private static string? LastQueryValue(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) ? values[^1] : null;

    private static string CollectionPath(HttpRequest request) => (request.PathBase + request.Path).Value!.TrimEnd('/');

    private static string UserPath(HttpRequest request, int id) => $"{CollectionPath(request)}/{id.ToString(CultureInfo.InvariantCulture)}";

    private static string NextPageLink(HttpRequest request, int limit, string? username, string? email, int lastId)
    {
        var link = new StringBuilder(CollectionPath(request))
            .Append("?limit=").Append(limit.ToString(CultureInfo.InvariantCulture));
        if (username is not null)
        {
            link.Append("&username=").Append(Uri.EscapeDataString(username));
        }

        if (email is not null)
        {
            link.Append("&email=").Append(Uri.EscapeDataString(email));
        }

        return link.Append("&cursor=").Append(PageCursor.Encode(lastId)).ToString();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created user {UserId}")]
    private static partial void LogCreated(ILogger logger, int userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated user {UserId}")]
    private static partial void LogUpdated(ILogger logger, int userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted user {UserId}")]
    private static partial void LogDeleted(ILogger logger, int userId);
}
