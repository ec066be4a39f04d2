using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace UserFunctions.Core.Auth;

/// <summary>The 401 and 403 problems of Entra ID mode; like every problem they carry the request's traceId (AddUsersApi).</summary>
internal static class AuthProblems
{
    /// <param name="invalidToken">A token was sent but is not valid (RFC 6750's <c>invalid_token</c>); else none was sent.</param>
    public static ProblemHttpResult Unauthorized(HttpResponse response, bool invalidToken)
    {
        response.Headers.WWWAuthenticate = invalidToken ? "Bearer error=\"invalid_token\"" : "Bearer";
        return TypedResults.Problem(
            invalidToken
                ? "The access token is not valid for this API: expired, issued by another authority or for another audience, or not signed by one of the authority's keys."
                : $"Send a Microsoft Entra ID access token for this API in the {HeaderNames.Authorization} header (Bearer).",
            statusCode: StatusCodes.Status401Unauthorized,
            title: invalidToken ? "The access token is not valid." : "An access token is required.");
    }

    public static ProblemHttpResult Forbidden(string role) => TypedResults.Problem(
        $"The access token does not carry the app role {role}, which this operation needs. Ask an administrator to assign it.",
        statusCode: StatusCodes.Status403Forbidden,
        title: "The caller lacks the role this operation needs.");
}
