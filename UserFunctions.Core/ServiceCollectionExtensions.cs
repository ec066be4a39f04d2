using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core.Data;
using UserFunctions.Core.Health;
using UserFunctions.Core.Http;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions.Core;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything the API needs, for every host: the Functions app and the ASP.NET Core dev server call this.</summary>
    public static IServiceCollection AddUsersApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddUsersData(configuration);
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
        return services;
    }
}

public static class EndpointRouteBuilderExtensions
{
    /// <summary>Maps every operation of <see cref="ApiOperations"/> under <c>/api</c> for an ASP.NET Core host.</summary>
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/" + UserRoutes.Prefix);

        api.MapPost(UserRoutes.Users, UsersApi.CreateUser).WithName(UserOperations.CreateUser);
        api.MapGet(UserRoutes.Users, UsersApi.ListUsers).WithName(UserOperations.ListUsers);
        api.MapGet(UserRoutes.UserById, UsersApi.GetUser).WithName(UserOperations.GetUser);
        api.MapPut(UserRoutes.UserById, UsersApi.ReplaceUser).WithName(UserOperations.ReplaceUser);
        api.MapPatch(UserRoutes.UserById, UsersApi.PatchUser).WithName(UserOperations.PatchUser);
        api.MapDelete(UserRoutes.UserById, UsersApi.DeleteUser).WithName(UserOperations.DeleteUser);
        api.MapGet(UserRoutes.Health, HealthApi.GetHealth).WithName(UserOperations.GetHealth);
        api.MapGet(UserRoutes.OpenApiDocument, OpenApiApi.GetOpenApiDocument).WithName(UserOperations.GetOpenApiDocument);

        return api;
    }
}
