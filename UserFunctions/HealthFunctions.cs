using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.Data;
using UserFunctions.Core.Health;
using UserFunctions.Core.Users;

namespace UserFunctions;

/// <summary>Anonymous, so that probes and availability tests need no key.</summary>
public sealed class HealthFunctions(UsersDbContext db)
{
    [Function(UserOperations.GetHealth)]
    public Task<IResult> GetHealth(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = UserRoutes.Health)] HttpRequest request) =>
        HealthApi.GetHealth(db, request.HttpContext.RequestAborted);
}
