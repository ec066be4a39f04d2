namespace UserFunctions.Core.Users;

/// <summary>
/// Route templates and operation names, defined once. The Functions app (route prefix <c>api</c> in host.json) and the
/// ASP.NET Core hosts (group <c>/api</c>) both build their routes from these.
/// </summary>
public static class UserRoutes
{
    public const string Prefix = "api";
    public const string Users = "users";
    public const string UserById = "users/{id}";
    public const string Health = "health";
    public const string OpenApiDocument = "openapi.json";
}

public static class UserOperations
{
    public const string CreateUser = nameof(CreateUser);
    public const string ListUsers = nameof(ListUsers);
    public const string GetUser = nameof(GetUser);
    public const string ReplaceUser = nameof(ReplaceUser);
    public const string PatchUser = nameof(PatchUser);
    public const string DeleteUser = nameof(DeleteUser);
    public const string GetHealth = nameof(GetHealth);
    public const string GetOpenApiDocument = nameof(GetOpenApiDocument);
}

/// <summary>One operation of the API: what every host must expose, and how it is protected in Azure.</summary>
/// <param name="RequiresFunctionKey">True for <c>AuthorizationLevel.Function</c>, false for anonymous.</param>
public sealed record ApiOperation(string Name, string Method, string Route, bool RequiresFunctionKey);

public static class ApiOperations
{
    public static IReadOnlyList<ApiOperation> All { get; } =
    [
        new(UserOperations.CreateUser, "POST", UserRoutes.Users, RequiresFunctionKey: true),
        new(UserOperations.ListUsers, "GET", UserRoutes.Users, RequiresFunctionKey: true),
        new(UserOperations.GetUser, "GET", UserRoutes.UserById, RequiresFunctionKey: true),
        new(UserOperations.ReplaceUser, "PUT", UserRoutes.UserById, RequiresFunctionKey: true),
        new(UserOperations.PatchUser, "PATCH", UserRoutes.UserById, RequiresFunctionKey: true),
        new(UserOperations.DeleteUser, "DELETE", UserRoutes.UserById, RequiresFunctionKey: true),
        new(UserOperations.GetHealth, "GET", UserRoutes.Health, RequiresFunctionKey: false),
        new(UserOperations.GetOpenApiDocument, "GET", UserRoutes.OpenApiDocument, RequiresFunctionKey: false),
    ];
}
