using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;
using Scalar.AspNetCore;
using UserFunctions.Core.OpenApi;

namespace UserFunctions.Core.Docs;

/// <summary>
/// The interactive API reference at <c>/api/docs</c>: Scalar's page, reading <c>/api/openapi.json</c>, with its scripts
/// served from the Scalar.AspNetCore package itself, so it works without internet access.
/// </summary>
/// <remarks>
/// Scalar serves its page and scripts as endpoints it maps on an ASP.NET Core route builder. The Functions worker has no
/// endpoint routing, so both hosts reach those same endpoints through <see cref="GetApiDocs"/>: Scalar maps them once,
/// on a route builder of our own, and each request runs the endpoint whose route matches its path.
/// </remarks>
public static class DocsApi
{
    public const string OperationName = "GetApiDocs";
    public const string Route = "docs/{*path}";

    /// <summary>Where the page is; Scalar redirects <c>/api/docs</c> here, so its scripts' relative URLs resolve.</summary>
    public const string PagePath = "/" + ApiOperations.RoutePrefix + "/docs/";

    /// <summary>The security scheme of openapi.json the page offers first: a function key in the <c>x-functions-key</c> header.</summary>
    public const string FunctionKeyScheme = "functionKeyHeader";

    private static readonly Lazy<IReadOnlyList<ScalarEndpoint>> ScalarEndpoints = new(MapScalarEndpoints);

    public static IResult GetApiDocs(HttpRequest request)
    {
        foreach (var scalar in ScalarEndpoints.Value)
        {
            var values = new RouteValueDictionary();
            if (scalar.Matcher.TryMatch(request.Path, values))
            {
                return new ScalarEndpointResult(scalar.Endpoint, values);
            }
        }

        return TypedResults.NotFound();
    }

    private static void ConfigurePage(ScalarOptions options) => options
        .WithTitle("UserFunctions API reference")
        .WithOpenApiRoutePattern($"/{ApiOperations.RoutePrefix}/{OpenApiDocumentApi.Route}")
        .AddPreferredSecuritySchemes(FunctionKeyScheme)
        // Its toolbar offers Scalar's hosted services (share, SDKs, deploy), which have nothing to do with this API.
        .HideDeveloperTools()
        // Everything the page loads must come from this host: Scalar's default fonts and telemetry would reach the internet.
        .DisableDefaultFonts()
        .DisableTelemetry()
        .DisableAgent()
        .DisableMcp();

    private static List<ScalarEndpoint> MapScalarEndpoints()
    {
        var routes = new ScalarRoutes(new ServiceCollection().AddLogging().AddRouting().BuildServiceProvider());
        routes.MapScalarApiReference(PagePath.TrimEnd('/'), ConfigurePage);

        return
        [
            .. routes.DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
                // The scripts' literal routes before the page's optional {documentName}, as endpoint routing would choose.
                .OrderBy(endpoint => endpoint.RoutePattern.Parameters.Count)
                .Select(endpoint => new ScalarEndpoint(
                    endpoint,
                    new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), new RouteValueDictionary(endpoint.RoutePattern.Defaults)))),
        ];
    }

    private sealed record ScalarEndpoint(RouteEndpoint Endpoint, TemplateMatcher Matcher);

    private sealed class ScalarEndpointResult(RouteEndpoint endpoint, RouteValueDictionary values) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Request.RouteValues = values;
            return endpoint.RequestDelegate!(httpContext);
        }
    }

    /// <summary>Collects what Scalar maps; its request delegates resolve their services from each request's own.</summary>
    private sealed class ScalarRoutes(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider => services;

        public ICollection<EndpointDataSource> DataSources { get; } = [];

        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(services);
    }
}
