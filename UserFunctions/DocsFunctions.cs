using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UserFunctions.Core.Docs;

namespace UserFunctions;

/// <summary>Anonymous like the document it shows; the page asks for a key when calling the users operations.</summary>
public static class DocsFunctions
{
    [Function(DocsApi.OperationName)]
    public static IResult GetApiDocs(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = DocsApi.Route)] HttpRequest request) =>
        DocsApi.GetApiDocs(request);
}
