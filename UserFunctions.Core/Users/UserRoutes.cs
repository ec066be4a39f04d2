namespace UserFunctions.Core.Users;

/// <summary>The users routes under <see cref="ApiOperations.RoutePrefix"/>.</summary>
public static class UserRoutes
{
    public const string Users = "users";
    public const string UserById = "users/{id}";
}

/// <summary>The users operations' names: each is a function's name and an OpenAPI operationId.</summary>
public static class UserOperations
{
    public const string CreateUser = nameof(CreateUser);
    public const string ListUsers = nameof(ListUsers);
    public const string GetUser = nameof(GetUser);
    public const string ReplaceUser = nameof(ReplaceUser);
    public const string PatchUser = nameof(PatchUser);
    public const string DeleteUser = nameof(DeleteUser);
}
