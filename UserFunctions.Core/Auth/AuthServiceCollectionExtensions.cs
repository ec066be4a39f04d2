using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace UserFunctions.Core.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>
    /// The <c>Auth</c> settings, checked on start, and in Entra ID mode the JwtBearer handler that validates access tokens
    /// against the authority's OpenID metadata (issuer and signing keys, refreshed when a token names a key it has not seen).
    /// </summary>
    public static IServiceCollection AddApiAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<ApiAuthorization>();

        // Function-key mode registers no handler at all: nothing reads a bearer token there.
        if (AuthOptions.EntraIdSettings(configuration) is not { } auth)
        {
            return services;
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.Authority = auth.Authority;
            jwt.Audience = auth.Audience;
            jwt.RequireHttpsMetadata = auth.RequireHttpsMetadata;
            // Keep the token's own claim names: roles stays roles, sub stays sub.
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters.RoleClaimType = ApiRoles.ClaimType;
            jwt.TokenValidationParameters.NameClaimType = "name";
            // The 401 is the API's problem (ApiAuthorization), never the handler's bare challenge.
            jwt.Events = new JwtBearerEvents { OnChallenge = context => { context.HandleResponse(); return Task.CompletedTask; } };
        });
        return services;
    }
}

public static class AuthApplicationBuilderExtensions
{
    /// <summary>
    /// Checks every request to an operation of <see cref="ApiOperations"/> with <see cref="ApiAuthorization"/> before its
    /// handler runs. Needs endpoint routing first (WebApplication routes at the start of its pipeline).
    /// </summary>
    public static IApplicationBuilder UseApiAuthorization(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ApiOperation>() is { } operation
            && await context.RequestServices.GetRequiredService<ApiAuthorization>().AuthorizeAsync(context, operation) is { } problem)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        await next(context);
    });
}
