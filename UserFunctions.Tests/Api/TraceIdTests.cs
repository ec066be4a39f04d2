using System.Diagnostics;
using System.Net;

namespace UserFunctions.Tests.Api;

/// <summary>
/// A problem's <c>traceId</c> is the request's W3C trace id, in one format on both hosts: the caller's when it sends a
/// <c>traceparent</c>, so a client can find its request in the logs by the id it chose.
/// </summary>
public abstract class TraceIdTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : TraceIdTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : TraceIdTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : TraceIdTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : TraceIdTests(host), IClassFixture<FunctionsOnPostgreSql>;

    public static TheoryData<string, string, string?, HttpStatusCode> Problems => new()
    {
        { "GET", "/api/users/2147483647", null, HttpStatusCode.NotFound },
        { "POST", "/api/users", "{\"username\":\"x\",\"email\":\"not an address\"}", HttpStatusCode.BadRequest },
        { "PUT", "/api/users/1", "{\"username\":", HttpStatusCode.BadRequest },
        { "GET", "/api/users?limit=0", null, HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public async Task AProblemCarriesTheTraceIdOfTheCallersTraceparent(string method, string url, string? body, HttpStatusCode status)
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var traceparent = $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01";

        using var response = await SendAsync(new HttpMethod(method), url, body is null ? null : ApiHost.Json(body), request =>
            request.Headers.Add("traceparent", traceparent));

        var problem = await AssertProblemAsync(response, status);
        Assert.Equal(traceId, problem.GetProperty("traceId").GetString());
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public async Task WithoutATraceparentAProblemCarriesANewW3CTraceId(string method, string url, string? body, HttpStatusCode status)
    {
        var traceIds = new List<string?>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await SendAsync(new HttpMethod(method), url, body is null ? null : ApiHost.Json(body));
            traceIds.Add((await AssertProblemAsync(response, status)).GetProperty("traceId").GetString());
        }

        Assert.All(traceIds, traceId => Assert.Matches("^[0-9a-f]{32}$", traceId));
        Assert.NotEqual(traceIds[0], traceIds[1]);
    }

    [Fact]
    public async Task AnInvalidTraceparentIsIgnored()
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/users/2147483647", configure: request =>
            request.Headers.TryAddWithoutValidation("traceparent", "00-00000000000000000000000000000000-0000000000000000-01"));

        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
        Assert.NotEqual(new string('0', 32), problem.GetProperty("traceId").GetString());
    }
}
