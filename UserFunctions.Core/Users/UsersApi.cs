using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.Users;

/// <summary>
/// The users operations (docs/contract.md). Each handler reads and checks its input, then hands the database work to
/// <see cref="UserWrites"/> or <see cref="UserQueries"/>. Database failures propagate: each host maps them to problems in one
/// place (<see cref="ApiExceptionHandler"/>, and the Functions app's worker middleware).
/// </summary>
public sealed class UsersApi
{
    private UsersApi()
    {
    }

    public static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> CreateUser(HttpRequest request, UserServices services)
    {
        if (!IdempotencyKeyHeader.TryRead(request, out var idempotent, out var keyProblem))
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

            if (!UserValidation.TryValidate(body!, out var valid, out var errors))
            {
                return ApiProblems.Validation(errors);
            }

            return await IdempotentWrites.RunAsync(
                request.HttpContext,
                services.Idempotency,
                idempotent,
                ApiJsonContext.Default.UserResponse,
                claim => UserWrites.CreateAsync(request, services, valid, claim),
                stored => TypedResults.Created(stored.Location, stored.Body));
        }
    }

    public static async Task<Results<Ok<UserPage>, ValidationProblem>> ListUsers(HttpRequest request, UserServices services)
    {
        if (!UserListQuery.TryRead(request, out var query, out var problem))
        {
            return problem;
        }

        // A filter no stored user could have (too long, or not text a database stores) matches nothing.
        if (!query.CanMatch)
        {
            return TypedResults.Ok(new UserPage([], null));
        }

        var (items, more) = await services.Queries.ReadPageAsync(services.Db, query, request.HttpContext.RequestAborted);
        return TypedResults.Ok(new UserPage(items, more ? query.NextPageLink(request, items[^1].Id) : null));
    }

    public static async Task<Results<Ok<UserResponse>, StatusCodeHttpResult, ProblemHttpResult>> GetUser(string id, HttpRequest request, UserServices services)
    {
        if (!TryParseId(id, out var userId)
            || await services.Queries.FindByIdAsync(services.Db, userId, request.HttpContext.RequestAborted) is not { } found)
        {
            return ApiProblems.UserNotFound();
        }

        ETags.Set(request.HttpContext.Response, found.Version);
        return ETags.IfNoneMatchHits(request, found.Version)
            ? TypedResults.StatusCode(StatusCodes.Status304NotModified)
            : TypedResults.Ok(found);
    }

    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> ReplaceUser(string id, HttpRequest request, UserServices services)
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

        if (!UserValidation.TryValidate(body!, out var valid, out var errors))
        {
            return ApiProblems.Validation(errors);
        }

        return await UserWrites.UpdateAsync(request, services, userId, claim: null, valid, invalid: null);
    }

    public static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> PatchUser(string id, HttpRequest request, UserServices services)
    {
        if (!IdempotencyKeyHeader.TryRead(request, out var idempotent, out var keyProblem))
        {
            return keyProblem;
        }

        using (idempotent)
        {
            var (patch, problem) = await JsonBody.ReadAsync(
                request, ApiJsonContext.Default.JsonObject, allowMergePatch: true, fingerprint: idempotent?.Fingerprint);
            UserRequest? values = null;
            if (problem is null)
            {
                (values, problem) = JsonBody.ReadMergePatch(patch!, ApiJsonContext.Default.UserRequest);
            }

            if (problem is not null)
            {
                return problem;
            }

            if (!TryParseId(id, out var userId))
            {
                return ApiProblems.UserNotFound();
            }

            // Judged from the patch alone (each member's rule is its own); invalid values are answered after the user's
            // existence and If-Match, as docs/contract.md orders them.
            var isValid = UserValidation.TryValidate(values!, patch!.ContainsKey, out var valid, out var errors);
            return await IdempotentWrites.RunAsync(
                request.HttpContext,
                services.Idempotency,
                idempotent,
                ApiJsonContext.Default.UserResponse,
                claim => UserWrites.UpdateAsync(request, services, userId, claim, valid, isValid ? null : errors),
                stored => TypedResults.Ok(stored.Body));
        }
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteUser(string id, HttpRequest request, UserServices services) =>
        TryParseId(id, out var userId)
            ? await UserWrites.DeleteAsync(request, services, userId)
            : ApiProblems.UserNotFound();

    // Ids are positive 32-bit integers; anything else names no user.
    private static bool TryParseId(string id, out int userId) =>
        int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out userId) && userId > 0;
}
