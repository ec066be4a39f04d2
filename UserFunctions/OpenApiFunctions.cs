using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.OpenApi;

namespace UserFunctions;

/// <summary>Anonymous: the contract is public, calling the users operations is not.</summary>
public static class OpenApiFunctions
{
    [Function(OpenApiDocumentApi.OperationName)]
    public static IResult GetOpenApiDocument(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OpenApiDocumentApi.Route)] HttpRequest request) =>
        OpenApiDocumentApi.GetOpenApiDocument(request);
}
