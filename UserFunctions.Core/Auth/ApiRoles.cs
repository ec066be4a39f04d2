using System.Security.Claims;

namespace UserFunctions.Core.Auth;

/// <summary>The app roles of the API's app registration; <see cref="ApiOperation.Role"/> names the one each operation needs.</summary>
public static class ApiRoles
{
    /// <summary>May get and list users.</summary>
    public const string Read = "Users.Read";

    /// <summary>May do everything, reading included.</summary>
    public const string ReadWrite = "Users.ReadWrite";

    /// <summary>The claim Entra ID puts a token's app roles in (not mapped to the long WS-Federation claim type).</summary>
    public const string ClaimType = "roles";

    public static bool Grants(ClaimsPrincipal caller, string role) =>
        caller.IsInRole(role) || (role == Read && caller.IsInRole(ReadWrite));
}
