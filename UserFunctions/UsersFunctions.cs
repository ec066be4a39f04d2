using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions;

/// <summary>The users operations. Each function only binds the route; the handler in Core does the work.</summary>
public sealed class UsersFunctions(UsersDbContext db, TimeProvider clock)
{
    [Function(UserOperations.CreateUser)]
    public Task<IResult> CreateUser(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = UserRoutes.Users)] HttpRequest request) =>
        UsersApi.CreateUser(request, db, clock);

    [Function(UserOperations.ListUsers)]
    public Task<IResult> ListUsers(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = UserRoutes.Users)] HttpRequest request) =>
        UsersApi.ListUsers(request, db);

    [Function(UserOperations.GetUser)]
    public Task<IResult> GetUser(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        UsersApi.GetUser(id, request, db);

    [Function(UserOperations.ReplaceUser)]
    public Task<IResult> ReplaceUser(
        [HttpTrigger(AuthorizationLevel.Function, "put", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        UsersApi.ReplaceUser(id, request, db, clock);

    [Function(UserOperations.PatchUser)]
    public Task<IResult> PatchUser(
        [HttpTrigger(AuthorizationLevel.Function, "patch", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        UsersApi.PatchUser(id, request, db, clock);

    [Function(UserOperations.DeleteUser)]
    public Task<IResult> DeleteUser(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        UsersApi.DeleteUser(id, request, db);
}
