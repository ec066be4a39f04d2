using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace UserFunctions.Bench.EmptyFunctions;

public static class HelloFunction
{
    [Function("Hello")]
    public static IResult Hello([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "hello")] HttpRequest request) =>
        TypedResults.Ok(new { message = "Hello" });
}
