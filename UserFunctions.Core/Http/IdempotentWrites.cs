using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using UserFunctions.Core.Data;
using UserFunctions.Core.Telemetry;

namespace UserFunctions.Core.Http;

/// <summary>
/// Runs a write under the request's <c>Idempotency-Key</c>, if it has one (docs/contract.md): answers from the key when it
/// is taken, and releases it when the write does not succeed, so the client can retry with the same key.
/// </summary>
internal static class IdempotentWrites
{
    public static async Task<Results<TSuccess, ValidationProblem, ProblemHttpResult>> RunAsync<TSuccess, TBody>(
        HttpContext context,
        IdempotencyStore store,
        IdempotentRequest? idempotent,
        JsonTypeInfo<TBody> bodyType,
        Func<IdempotencyClaim?, Task<Results<TSuccess, ValidationProblem, ProblemHttpResult>>> write,
        Func<StoredResponse<TBody>, TSuccess> replay)
        where TSuccess : IResult
    {
        if (idempotent is null)
        {
            return await write(null);
        }

        var claimed = await store.ClaimAsync(idempotent.Key, idempotent.Fingerprint.GetHashAndReset(), bodyType, context.RequestAborted);
        switch (claimed)
        {
            case { Replay: { } stored }:
                ApiTelemetry.IdempotentReplay(context);
                if (stored.ETag is { } etag)
                {
                    context.Response.Headers.ETag = etag;
                }

                return replay(stored);
            case { Refusal: ClaimRefusal.Reused }:
                return ApiProblems.IdempotencyKeyReused();
            case { Claim: null }:
                return ApiProblems.IdempotencyKeyInProgress(context.Response);
        }

        var succeeded = false;
        try
        {
            var result = await write(claimed.Claim);
            succeeded = result.Result is TSuccess;
            return result;
        }
        catch (IdempotencyClaimLostException)
        {
            return ApiProblems.IdempotencyKeyInProgress(context.Response);
        }
        finally
        {
            if (!succeeded)
            {
                await store.ReleaseAsync(claimed.Claim);
            }
        }
    }
}
