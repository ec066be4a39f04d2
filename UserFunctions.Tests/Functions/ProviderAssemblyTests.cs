using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using UserFunctions.Tests.Api;

namespace UserFunctions.Tests.Functions;

/// <summary>
/// A process maps only its configured provider's assemblies, from start-up (the migration check included) through the
/// first requests of each kind: the other providers' clients and EF providers are megabytes of code and memory the worker
/// never uses (docs/performance.md, "Which assemblies a process maps"). Read from the worker's <c>/proc/&lt;pid&gt;/maps</c>,
/// since the test process itself loads every provider. Azure.Core is not among them: the Functions worker itself maps it
/// (its gRPC log writer), in the empty app too; Azure.Identity only a passwordless server connection needs.
/// </summary>
public class ProviderAssemblyTests
{
    private static readonly string[] SqlServer = ["Microsoft.Data.SqlClient.dll", "Microsoft.EntityFrameworkCore.SqlServer.dll"];
    private static readonly string[] PostgreSql = ["Npgsql.dll", "Npgsql.EntityFrameworkCore.PostgreSQL.dll"];
    private static readonly string[] Sqlite = ["Microsoft.Data.Sqlite.dll", "Microsoft.EntityFrameworkCore.Sqlite.dll"];
    private static readonly string[] Azure = ["Azure.Identity.dll"];

    [Fact]
    public async Task TheFunctionsWorkerOnSqliteMapsNeitherServerProvider()
    {
        // SQLite migrates at start-up by default: the check that used to load the other providers runs.
        var host = new FunctionsOnSqlite();
        await AssertMapsOnlyAsync(host, expected: Sqlite, forbidden: [.. SqlServer, .. PostgreSql, .. Azure]);
    }

    [Fact]
    public async Task TheFunctionsWorkerOnPostgreSqlMapsNeitherSqlServerNorSqlite()
    {
        // PostgreSqlTestDatabase sets Database:MigrateOnStartup=true, so the migration check runs here too.
        var host = new FunctionsOnPostgreSql();
        await AssertMapsOnlyAsync(host, expected: PostgreSql, forbidden: [.. SqlServer, .. Sqlite, .. Azure]);
    }

    private static async Task AssertMapsOnlyAsync(ApiHost host, string[] expected, string[] forbidden)
    {
        await host.InitializeAsync();
        try
        {
            await MakeOneRequestOfEachKindAsync(host);

            var mapped = MappedAssemblies(host.Functions!.WorkerProcessId);

            Assert.Superset(expected.ToHashSet(), mapped);
            Assert.Empty(mapped.Intersect(forbidden));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    // A create, a duplicate (409: the error classification), a read, an update, a list.
    private static async Task MakeOneRequestOfEachKindAsync(ApiHost host)
    {
        var user = await host.CreateUserAsync("mapped", "mapped@example.com");
        using (var duplicate = await host.CreateAsync("mapped", "mapped@example.com"))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        }

        var id = user.GetProperty("id").GetInt32();
        Assert.Equal("mapped", (await host.Client.GetFromJsonAsync<JsonElement>($"/api/users/{id}")).GetProperty("username").GetString());
        using (var update = await host.Client.PutAsync($"/api/users/{id}", ApiHost.Json("""{"username":"mapped2","email":"mapped2@example.com"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        }

        using var list = await host.Client.GetAsync("/api/users");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    private static HashSet<string> MappedAssemblies(int processId) =>
        File.ReadLines($"/proc/{processId}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].EndsWith(".dll", StringComparison.Ordinal))
            .Select(fields => Path.GetFileName(fields[5]))
            .ToHashSet(StringComparer.Ordinal);
}
