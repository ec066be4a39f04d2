using Microsoft.AspNetCore.Http;
using UserFunctions.Core.Auth;
using UserFunctions.Core.Docs;
using UserFunctions.Core.Health;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions.Core;

/// <summary>
/// One operation of the API: its name (the function's and the OpenAPI operationId), method, route under
/// <see cref="ApiOperations.RoutePrefix"/>, whether Azure requires a function key (<c>AuthorizationLevel.Function</c>), the app
/// role a caller needs in Entra ID mode (<see cref="ApiRoles"/>; null: anonymous), and its handler.
/// The init-only members are what the OpenAPI document says that the handler's signature cannot.
/// </summary>
public sealed record ApiOperation(string Name, string Method, string Route, bool RequiresFunctionKey, string? Role, Delegate Handler)
{
    public required string Summary { get; init; }

    public required string Tag { get; init; }

    /// <summary>The problem statuses the operation answers besides 500, which every operation can.</summary>
    public IReadOnlyList<int> ProblemStatuses { get; init; } = [];

    public ApiRequestHeaders RequestHeaders { get; init; }

    /// <summary>The JSON body the handler reads itself, and the media types it takes (the first is the preferred one).</summary>
    public Type? RequestBody { get; init; }

    public IReadOnlyList<string> RequestContentTypes { get; init; } = [JsonMediaType];

    /// <summary>False for an operation the OpenAPI document leaves out (the page that shows the document).</summary>
    public bool InDocument { get; init; } = true;

    public const string JsonMediaType = "application/json";
    public const string MergePatchMediaType = "application/merge-patch+json";
}

/// <summary>The request headers an operation honours.</summary>
[Flags]
public enum ApiRequestHeaders
{
    None = 0,
    IfMatch = 1,
    IfNoneMatch = 2,
    IdempotencyKey = 4,
}

/// <summary>
/// The operation table: the dev server maps it (and generates the OpenAPI document from it), and tests check the Functions
/// app's triggers and the document against it. The names and routes are constants because the Functions app's attributes
/// need constants.
/// </summary>
public static class ApiOperations
{
    /// <summary>The Functions host's <c>routePrefix</c> (host.json), and the dev server's route group.</summary>
    public const string RoutePrefix = "api";

    public const string UsersTag = "Users";
    public const string HealthTag = "Health";
    public const string OpenApiTag = "OpenAPI";

    public static IReadOnlyList<ApiOperation> All { get; } =
    [
        new(UserOperations.CreateUser, "POST", UserRoutes.Users, RequiresFunctionKey: true, Role: ApiRoles.ReadWrite, UsersApi.CreateUser)
        {
            Summary = "Create a user",
            Tag = UsersTag,
            RequestBody = typeof(UserRequest),
            RequestHeaders = ApiRequestHeaders.IdempotencyKey,
            ProblemStatuses = [Status.BadRequest, Status.Conflict, Status.TooLarge, Status.UnsupportedMediaType, Status.Unprocessable, Status.Unavailable],
        },
        new(UserOperations.ListUsers, "GET", UserRoutes.Users, RequiresFunctionKey: true, Role: ApiRoles.Read, UsersApi.ListUsers)
        {
            Summary = "List users, keyset-paged in id order",
            Tag = UsersTag,
            ProblemStatuses = [Status.BadRequest, Status.Unavailable],
        },
        new(UserOperations.GetUser, "GET", UserRoutes.UserById, RequiresFunctionKey: true, Role: ApiRoles.Read, UsersApi.GetUser)
        {
            Summary = "Get a user",
            Tag = UsersTag,
            RequestHeaders = ApiRequestHeaders.IfNoneMatch,
            ProblemStatuses = [Status.NotFound, Status.Unavailable],
        },
        new(UserOperations.ReplaceUser, "PUT", UserRoutes.UserById, RequiresFunctionKey: true, Role: ApiRoles.ReadWrite, UsersApi.ReplaceUser)
        {
            Summary = "Replace a user's username and email",
            Tag = UsersTag,
            RequestBody = typeof(UserRequest),
            RequestHeaders = ApiRequestHeaders.IfMatch,
            ProblemStatuses = [Status.BadRequest, Status.NotFound, Status.Conflict, Status.PreconditionFailed, Status.TooLarge, Status.UnsupportedMediaType, Status.Unavailable],
        },
        new(UserOperations.PatchUser, "PATCH", UserRoutes.UserById, RequiresFunctionKey: true, Role: ApiRoles.ReadWrite, UsersApi.PatchUser)
        {
            Summary = "Change some fields of a user (JSON merge patch, RFC 7396)",
            Tag = UsersTag,
            RequestBody = typeof(UserRequest),
            RequestContentTypes = [ApiOperation.MergePatchMediaType, ApiOperation.JsonMediaType],
            RequestHeaders = ApiRequestHeaders.IfMatch | ApiRequestHeaders.IdempotencyKey,
            ProblemStatuses = [Status.BadRequest, Status.NotFound, Status.Conflict, Status.PreconditionFailed, Status.TooLarge, Status.UnsupportedMediaType, Status.Unprocessable, Status.Unavailable],
        },
        new(UserOperations.DeleteUser, "DELETE", UserRoutes.UserById, RequiresFunctionKey: true, Role: ApiRoles.ReadWrite, UsersApi.DeleteUser)
        {
            Summary = "Delete a user",
            Tag = UsersTag,
            RequestHeaders = ApiRequestHeaders.IfMatch,
            ProblemStatuses = [Status.NotFound, Status.PreconditionFailed, Status.Unavailable],
        },
        // Anonymous, so that probes and availability tests need no key, and the contract is public.
        new(HealthApi.OperationName, "GET", HealthApi.Route, RequiresFunctionKey: false, Role: null, HealthApi.GetHealth)
        {
            Summary = "Is the database reachable?",
            Tag = HealthTag,
            ProblemStatuses = [Status.Unavailable],
        },
        new(OpenApiDocumentApi.OperationName, "GET", OpenApiDocumentApi.Route, RequiresFunctionKey: false, Role: null, OpenApiDocumentApi.GetOpenApiDocument)
        {
            Summary = "This document",
            Tag = OpenApiTag,
        },
        // The page that shows the document (not itself in it); a key is entered on the page, for the operations that need one.
        new(DocsApi.OperationName, "GET", DocsApi.Route, RequiresFunctionKey: false, Role: null, DocsApi.GetApiDocs)
        {
            Summary = "The interactive API reference",
            Tag = OpenApiTag,
            InDocument = false,
        },
    ];

    private static class Status
    {
        public const int BadRequest = StatusCodes.Status400BadRequest;
        public const int NotFound = StatusCodes.Status404NotFound;
        public const int Conflict = StatusCodes.Status409Conflict;
        public const int PreconditionFailed = StatusCodes.Status412PreconditionFailed;
        public const int TooLarge = StatusCodes.Status413PayloadTooLarge;
        public const int UnsupportedMediaType = StatusCodes.Status415UnsupportedMediaType;
        public const int Unprocessable = StatusCodes.Status422UnprocessableEntity;
        public const int Unavailable = StatusCodes.Status503ServiceUnavailable;
    }
}
