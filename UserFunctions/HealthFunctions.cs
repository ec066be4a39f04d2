using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Health;

namespace UserFunctions;

/// <summary>Anonymous, so that probes and availability tests need no key.</summary>
public sealed class HealthFunctions(UsersDbContext db, ILogger<HealthApi> logger)
{
    [Function(HealthApi.OperationName)]
    public async Task<IResult> GetHealth(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = HealthApi.Route)] HttpRequest request) =>
        await HealthApi.GetHealth(request, db, logger);
}
