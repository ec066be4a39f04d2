using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace UserFunctions.Core.Auth;

/// <summary>
/// The one place that decides whether a caller may run an operation, for both hosts: the dev server asks from its
/// pipeline (<see cref="AuthApplicationBuilderExtensions.UseApiAuthorization"/>), the Functions app from its worker
/// middleware, before the handler.
/// </summary>
public sealed class ApiAuthorization(IOptions<AuthOptions> options)
{
    /// <summary>
    /// Null when the caller may run the operation (always so in function-key mode, and for the anonymous operations);
    /// else the 401 or 403 problem to answer with. The caller's principal becomes <see cref="HttpContext.User"/>.
    /// </summary>
    public async Task<IResult?> AuthorizeAsync(HttpContext context, ApiOperation operation)
    {
        if (options.Value.Mode != AuthMode.EntraId || operation.Role is not { } role)
        {
            return null;
        }

        // The JwtBearer handler: signature against the authority's current keys, issuer, audience, lifetime.
        var authentication = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!authentication.Succeeded)
        {
            // None: no bearer token at all. Failure: one was sent and did not validate (why is in the handler's log).
            return AuthProblems.Unauthorized(context.Response, invalidToken: authentication.Failure is not null);
        }

        context.User = authentication.Principal;
        return ApiRoles.Grants(authentication.Principal, role) ? null : AuthProblems.Forbidden(role);
    }
}
