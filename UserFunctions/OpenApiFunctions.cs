using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions;

/// <summary>Anonymous: the contract is public, calling the users operations is not.</summary>
public static class OpenApiFunctions
{
    [Function(UserOperations.GetOpenApiDocument)]
    public static IResult GetOpenApiDocument(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = UserRoutes.OpenApiDocument)] HttpRequest request) =>
        OpenApiApi.GetOpenApiDocument();
}
