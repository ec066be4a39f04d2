using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.Users;

namespace UserFunctions;

/// <summary>The users operations. Each function only binds the route; the handler in Core does the work.</summary>
public sealed class UsersFunctions(UserServices services)
{
    [Function(UserOperations.CreateUser)]
    public async Task<IResult> CreateUser(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = UserRoutes.Users)] HttpRequest request) =>
        await UsersApi.CreateUser(request, services);

    [Function(UserOperations.ListUsers)]
    public async Task<IResult> ListUsers(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = UserRoutes.Users)] HttpRequest request) =>
        await UsersApi.ListUsers(request, services);

    [Function(UserOperations.GetUser)]
    public async Task<IResult> GetUser(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        await UsersApi.GetUser(id, request, services);

    [Function(UserOperations.ReplaceUser)]
    public async Task<IResult> ReplaceUser(
        [HttpTrigger(AuthorizationLevel.Function, "put", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        await UsersApi.ReplaceUser(id, request, services);

    [Function(UserOperations.PatchUser)]
    public async Task<IResult> PatchUser(
        [HttpTrigger(AuthorizationLevel.Function, "patch", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        await UsersApi.PatchUser(id, request, services);

    [Function(UserOperations.DeleteUser)]
    public async Task<IResult> DeleteUser(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = UserRoutes.UserById)] HttpRequest request,
        string id) =>
        await UsersApi.DeleteUser(id, request, services);
}
