using System.Net;
using System.Text.Json;
using UserFunctions.Core;
using UserFunctions.Core.Docs;
using UserFunctions.Core.Health;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Api;

public abstract class OpenApiDocumentTests(ApiHost host) : ApiTestBase(host)
{
    public sealed class OnDevServerSqlite(DevServerOnSqlite host) : OpenApiDocumentTests(host), IClassFixture<DevServerOnSqlite>;

    public sealed class OnFunctionsSqlite(FunctionsOnSqlite host) : OpenApiDocumentTests(host), IClassFixture<FunctionsOnSqlite>;

    public sealed class OnDevServerPostgreSql(DevServerOnPostgreSql host) : OpenApiDocumentTests(host), IClassFixture<DevServerOnPostgreSql>;

    public sealed class OnFunctionsPostgreSql(FunctionsOnPostgreSql host) : OpenApiDocumentTests(host), IClassFixture<FunctionsOnPostgreSql>;

    // What the contract says each operation can answer.
    private static readonly Dictionary<string, int[]> ContractStatuses = new()
    {
        [UserOperations.CreateUser] = [201, 400, 409, 413, 415, 422, 503],
        [UserOperations.ListUsers] = [200, 400, 503],
        [UserOperations.GetUser] = [200, 304, 404, 503],
        [UserOperations.ReplaceUser] = [200, 400, 404, 409, 412, 413, 415, 503],
        [UserOperations.PatchUser] = [200, 400, 404, 409, 412, 413, 415, 422, 503],
        [UserOperations.DeleteUser] = [204, 404, 412, 503],
        [HealthApi.OperationName] = [200, 503],
        [OpenApiDocumentApi.OperationName] = [200],
    };

    // The reference page shows the document; it is not an operation of the API the document describes.
    private static readonly IEnumerable<ApiOperation> DescribedOperations = ApiOperations.All.Where(o => o.InDocument);

    public static TheoryData<string> Operations => [.. DescribedOperations.Select(o => o.Name)];

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task TheDocumentDescribesEveryOperationWithItsStatusCodesAndProblemBodies(string name)
    {
        var operation = ApiOperations.All.Single(o => o.Name == name);
        var document = await GetDocumentAsync();

        // Paths are relative to the server, which ends in /api.
        var described = document.GetProperty("paths").GetProperty($"/{operation.Route}").GetProperty(operation.Method.ToLowerInvariant());

        Assert.Equal(operation.Name, described.GetProperty("operationId").GetString());
        var responses = described.GetProperty("responses");
        foreach (var status in ContractStatuses[name])
        {
            Assert.True(responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out _), $"{name} does not describe {status}.");
        }

        foreach (var response in responses.EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
        {
            var resolved = Resolve(document, response.Value);
            Assert.True(resolved.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {response.Name} is not a problem body.");
        }

        // Each requirement as its schemes (with the roles a bearer token needs), e.g. "bearer Users.Read + functionKeyHeader".
        var security = described.TryGetProperty("security", out var requirements)
            ? requirements.EnumerateArray().Select(r => string.Join(" + ", r.EnumerateObject()
                .Select(s => s.Value.GetArrayLength() == 0 ? s.Name : $"{s.Name} {string.Join(",", s.Value.EnumerateArray())}").Order()))
            : [];
        string[] keys = operation.RequiresFunctionKey ? ["functionKeyHeader", "functionKeyQuery"] : [];
        string[] expected = operation.Role is { } role ? [.. keys, .. keys.Select(key => $"bearer {role} + {key}")] : keys;
        Assert.Equal(expected.Order(), security.Order());
    }

    [Fact]
    public async Task TheDocumentIsOpenApi31AndDescribesNoOperationTheApiLacks()
    {
        var document = await GetDocumentAsync();

        Assert.StartsWith("3.1.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var operationIds = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(m => m.Name != "parameters"))
            .Select(method => method.Value.GetProperty("operationId").GetString())
            .Order();
        Assert.Equal(DescribedOperations.Select(o => o.Name).Order(), operationIds);
    }

    [Fact]
    public async Task TheServedDocumentNamesTheAbsoluteBaseTheClientUsed()
    {
        var document = await GetDocumentAsync();

        var server = Assert.Single(document.GetProperty("servers").EnumerateArray());
        Assert.Equal(new Uri(Client.BaseAddress!, ApiOperations.RoutePrefix).ToString(), server.GetProperty("url").GetString());
    }

    private async Task<JsonElement> GetDocumentAsync()
    {
        using var response = await Client.GetAsync($"/{ApiOperations.RoutePrefix}/{OpenApiDocumentApi.Route}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await ReadJsonAsync(response);
    }

    private static JsonElement Resolve(JsonElement document, JsonElement element)
    {
        if (!element.TryGetProperty("$ref", out var reference))
        {
            return element;
        }

        var target = document;
        foreach (var segment in reference.GetString()!.TrimStart('#', '/').Split('/'))
        {
            target = target.GetProperty(segment);
        }

        return target;
    }
}
