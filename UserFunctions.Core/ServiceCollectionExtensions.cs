using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core.Auth;
using UserFunctions.Core.Data;
using UserFunctions.Core.Http;
using UserFunctions.Core.Users;

namespace UserFunctions.Core;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything the API needs, for every host: the Functions app and the ASP.NET Core dev server call this.</summary>
    public static IServiceCollection AddUsersApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddUsersData(configuration);
        services.AddApiAuthentication(configuration);
        services.AddSingleton<UserQueries>();
        services.AddScoped<IdempotencyStore>();
        services.AddHostedService<ExpiredIdempotencyKeySweep>();
        services.AddScoped<UserServices>();
        // Every problem, whoever writes it, carries the request's W3C trace id in the same format on every host.
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions["traceId"] = ApiProblems.TraceIdOf(context.HttpContext));
        // Registered after AddProblemDetails' writer, so that it is only asked for requests whose Accept that one declines.
        services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemWriter>();
        services.AddSingleton<ApiExceptionHandler>();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
        return services;
    }
}

public static class EndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every operation of <see cref="ApiOperations"/> under <c>/api</c> for an ASP.NET Core host, with the metadata the
    /// OpenAPI document is generated from: what the handler's typed results say, plus what the table says that they cannot.
    /// </summary>
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/" + ApiOperations.RoutePrefix);
        foreach (var operation in ApiOperations.All)
        {
            var endpoint = api.MapMethods(operation.Route, [operation.Method], operation.Handler)
                .WithName(operation.Name)
                .WithTags(operation.Tag)
                .WithSummary(operation.Summary)
                .WithMetadata(operation)
                .ProducesProblem(StatusCodes.Status500InternalServerError);
            foreach (var status in operation.ProblemStatuses)
            {
                endpoint.ProducesProblem(status);
            }

            if (!operation.InDocument)
            {
                endpoint.ExcludeFromDescription();
            }

            // The handlers read their bodies themselves (to answer malformed ones with the contract's problems), so the
            // generator cannot see them.
            if (operation.RequestBody is { } body)
            {
                endpoint.Accepts(body, isOptional: false, operation.RequestContentTypes[0], [.. operation.RequestContentTypes.Skip(1)]);
            }
        }

        return api;
    }
}
