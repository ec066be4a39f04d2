using UserFunctions.Core.Docs;
using UserFunctions.Core.Health;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions.Core;

/// <summary>
/// One operation of the API: its name (the function's and the OpenAPI operationId), method, route under
/// <see cref="ApiOperations.RoutePrefix"/>, whether Azure requires a function key (<c>AuthorizationLevel.Function</c>), and its handler.
/// </summary>
public sealed record ApiOperation(string Name, string Method, string Route, bool RequiresFunctionKey, Delegate Handler);

/// <summary>
/// The operation table: the dev server maps it, and tests check the Functions app's triggers and the OpenAPI document
/// against it. The names and routes are constants because the Functions app's attributes need constants.
/// </summary>
public static class ApiOperations
{
    /// <summary>The Functions host's <c>routePrefix</c> (host.json), and the dev server's route group.</summary>
    public const string RoutePrefix = "api";

    public static IReadOnlyList<ApiOperation> All { get; } =
    [
        new(UserOperations.CreateUser, "POST", UserRoutes.Users, RequiresFunctionKey: true, UsersApi.CreateUser),
        new(UserOperations.ListUsers, "GET", UserRoutes.Users, RequiresFunctionKey: true, UsersApi.ListUsers),
        new(UserOperations.GetUser, "GET", UserRoutes.UserById, RequiresFunctionKey: true, UsersApi.GetUser),
        new(UserOperations.ReplaceUser, "PUT", UserRoutes.UserById, RequiresFunctionKey: true, UsersApi.ReplaceUser),
        new(UserOperations.PatchUser, "PATCH", UserRoutes.UserById, RequiresFunctionKey: true, UsersApi.PatchUser),
        new(UserOperations.DeleteUser, "DELETE", UserRoutes.UserById, RequiresFunctionKey: true, UsersApi.DeleteUser),
        // Anonymous, so that probes and availability tests need no key, and the contract is public.
        new(HealthApi.OperationName, "GET", HealthApi.Route, RequiresFunctionKey: false, HealthApi.GetHealth),
        new(OpenApiDocumentApi.OperationName, "GET", OpenApiDocumentApi.Route, RequiresFunctionKey: false, OpenApiDocumentApi.GetOpenApiDocument),
        // The page that shows the document; a key is entered on the page, for the operations that need one.
        new(DocsApi.OperationName, "GET", DocsApi.Route, RequiresFunctionKey: false, DocsApi.GetApiDocs),
    ];
}
