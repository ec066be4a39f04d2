using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;

namespace UserFunctions.Core.Users;

/// <summary>What the users handlers need, resolved per request on both hosts.</summary>
public sealed record UserServices(
    UsersDbContext Db,
    UserQueries Queries,
    IdempotencyStore Idempotency,
    TimeProvider Clock,
    ILogger<UsersApi> Logger);
