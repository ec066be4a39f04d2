using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;

namespace UserFunctions.Core.Health;

public sealed record HealthStatus(string Status);

public sealed partial class HealthApi
{
    public const string OperationName = "GetHealth";
    public const string Route = "health";

    private const int CheckTimeoutSeconds = 5;

    private HealthApi()
    {
    }

    /// <summary>
    /// One <c>SELECT 1</c> on a fresh connection, outside EF's retry strategy: a health probe wants a quick, honest answer,
    /// not one that retries for half a minute.
    /// </summary>
    public static async Task<Results<Ok<HealthStatus>, ProblemHttpResult>> GetHealth(HttpRequest request, UsersDbContext db, ILogger<HealthApi> logger)
    {
        var cancellationToken = request.HttpContext.RequestAborted;
        try
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
            try
            {
                await using var command = db.Database.GetDbConnection().CreateCommand();
                command.CommandText = "SELECT 1";
                command.CommandTimeout = CheckTimeoutSeconds;
                await command.ExecuteScalarAsync(cancellationToken);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }

            return TypedResults.Ok(new HealthStatus("Healthy"));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnhealthy(logger, exception);
            // RFC 9457 reserves "status" for the HTTP status code, so the problem says Unhealthy in its title.
            return ApiProblems.ServiceUnavailable(request.HttpContext.Response, "The database cannot be reached.", "Unhealthy");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health check failed: the database cannot be reached")]
    private static partial void LogUnhealthy(ILogger logger, Exception exception);
}
