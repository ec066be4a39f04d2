using Microsoft.Data.SqlClient;
using Npgsql;

namespace UserFunctions.Tests.Infrastructure;

/// <summary>
/// The capacity plan (infra/app/capacity.bicep), checked on the compiled template evaluated for every allowed database
/// size of both engines: all instances' connection pools together stay under the database's documented limit, with room
/// left for the deployment and for administrators.
/// </summary>
public class CapacityPlanTests
{
    // The limits as Microsoft documents them, written down here independently of the template's own table.
    // Azure SQL serverless (standard-series Gen5): max concurrent workers, 75 per max vCore.
    // https://learn.microsoft.com/azure/azure-sql/database/resource-limits-vcore-single-databases
    private static readonly Dictionary<string, int> AzureSqlMaxWorkers = new()
    {
        ["GP_S_Gen5_1"] = 75,
        ["GP_S_Gen5_2"] = 150,
        ["GP_S_Gen5_4"] = 300,
        ["GP_S_Gen5_6"] = 450,
        ["GP_S_Gen5_8"] = 600,
        ["GP_S_Gen5_10"] = 750,
        ["GP_S_Gen5_12"] = 900,
        ["GP_S_Gen5_14"] = 1050,
        ["GP_S_Gen5_16"] = 1200,
    };

    // Azure Database for PostgreSQL Flexible Server: default max_connections by SKU, 15 of them reserved by Azure.
    // https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-limits
    private static readonly Dictionary<string, int> PostgreSqlMaxConnections = new()
    {
        ["Standard_B2s"] = 429,
        ["Standard_B2ms"] = 859,
        ["Standard_D2ds_v5"] = 859,
        ["Standard_D4ds_v5"] = 1718,
        ["Standard_D8ds_v5"] = 3437,
    };

    private const int PostgreSqlAzureReservedConnections = 15;

    // What the app must leave free at any size: the migration bundle, the grant script and a person with a query window.
    private const int DeploymentAndAdminConnections = 5;

    // And a share of the limit for bursts and reconnect storms.
    private const double MaximumShareForTheApp = 0.8;

    // Flex Consumption's lowest accepted maximumInstanceCount in most regions (the template's default).
    private const int PlatformLowestMaximum = 40;

    public static TheoryData<string, string, int, int, int> EveryAllowedSizeWithSeveralRequests()
    {
        var data = new TheoryData<string, string, int, int, int>();
        foreach (var (engine, size) in AllowedSizes())
        {
            // (requested HTTP concurrency per instance, requested maximum instance count, the platform's lowest maximum):
            // the defaults, the largest the template accepts, the smallest concurrency, something in between, and the
            // same where the region accepts maxima below 40.
            foreach (var (concurrency, instances, lowest) in new[] { (16, 100, 40), (1000, 1000, 40), (1, 1000, 40), (64, 40, 40), (16, 100, 1), (1000, 1000, 1) })
            {
                data.Add(engine, size, concurrency, instances, lowest);
            }
        }

        return data;
    }

    public static TheoryData<string, string> EveryAllowedSize()
    {
        var data = new TheoryData<string, string>();
        foreach (var (engine, size) in AllowedSizes())
        {
            data.Add(engine, size);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryAllowedSizeWithSeveralRequests))]
    public void InstancesTimesPoolSizeStaysUnderTheDatabaseLimitWithHeadroom(string engine, string size, int concurrency, int instances, int lowest)
    {
        var app = DeployedApp.Evaluate(engine, size, concurrency, instances, lowest);
        var limit = DocumentedLimit(engine, size);
        var connections = app.MaximumInstanceCount * app.MaxPoolSize;

        Assert.True(connections <= limit * MaximumShareForTheApp - DeploymentAndAdminConnections,
            $"{engine} {size}: {app.MaximumInstanceCount} instances × pool {app.MaxPoolSize} = {connections} connections against a limit of {limit}.");
        // Never below what the platform accepts, never above what was asked unless the platform insists.
        Assert.InRange(app.MaximumInstanceCount, lowest, Math.Max(lowest, instances));
        Assert.InRange(app.PerInstanceConcurrency, 1, concurrency);
    }

    [Theory]
    [MemberData(nameof(EveryAllowedSizeWithSeveralRequests))]
    public void EachInstanceHasAPoolConnectionForEveryConcurrentRequestAndNoMore(string engine, string size, int concurrency, int instances, int lowest)
    {
        var app = DeployedApp.Evaluate(engine, size, concurrency, instances, lowest);

        Assert.Equal(app.PerInstanceConcurrency, app.MaxPoolSize);
    }

    [Theory]
    [MemberData(nameof(EveryAllowedSize))]
    public void TheDatabaseIsTheSizeThePlanWasMadeFor(string engine, string size)
    {
        var app = DeployedApp.Evaluate(engine, size, 16, 100);

        Assert.Equal(engine, app.Setting("Database__Provider"));
        if (engine == "AzureSql")
        {
            Assert.Equal(true, app.Main.ModuleCondition("azuresql"));
            Assert.Equal(false, app.Main.ModuleCondition("postgresql"));
            var database = app.Main.Module("azuresql").Resources().Single(r => (string?)r["type"] == "Microsoft.Sql/servers/databases");
            Assert.Equal(size, Map(app.Main.Module("azuresql").Evaluate(database["sku"]))["name"]);
            // Serverless sizes above 4 vCores refuse a minimum below max vCores / 8.
            var maxVCores = AzureSqlMaxWorkers[size] / 75;
            Assert.Equal(Math.Max(0.5, maxVCores / 8.0), Convert.ToDouble(Map(app.Main.Module("azuresql").Evaluate(database["properties"]))["minCapacity"], System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Assert.Equal(false, app.Main.ModuleCondition("azuresql"));
            Assert.Equal(true, app.Main.ModuleCondition("postgresql"));
            var module = app.Main.Module("postgresql");
            var server = module.Resources().Single(r => (string?)r["type"] == "Microsoft.DBforPostgreSQL/flexibleServers");
            Assert.Equal(size, Map(module.Evaluate(server["sku"]))["name"]);
            var maxConnections = module.Resources().Single(r =>
                (string?)r["type"] == "Microsoft.DBforPostgreSQL/flexibleServers/configurations" && ((string?)r["name"])!.Contains("max_connections", StringComparison.Ordinal));
            Assert.Equal(PostgreSqlMaxConnections[size].ToString(System.Globalization.CultureInfo.InvariantCulture),
                Map(module.Evaluate(maxConnections["properties"]))["value"]);
        }
    }

    [Theory]
    // The figures docs/deploy.md's "How far it scales" quotes: (size, lowest maximum the platform accepts) → instances × concurrency.
    [InlineData("AzureSql", "GP_S_Gen5_1", PlatformLowestMaximum, 40, 1)]
    [InlineData("AzureSql", "GP_S_Gen5_2", PlatformLowestMaximum, 40, 2)]
    [InlineData("AzureSql", "GP_S_Gen5_4", PlatformLowestMaximum, 40, 5)]
    [InlineData("AzureSql", "GP_S_Gen5_8", PlatformLowestMaximum, 40, 11)]
    [InlineData("AzureSql", "GP_S_Gen5_12", PlatformLowestMaximum, 44, 16)]
    [InlineData("AzureSql", "GP_S_Gen5_16", PlatformLowestMaximum, 59, 16)]
    [InlineData("AzureSql", "GP_S_Gen5_1", 1, 3, 16)]
    [InlineData("AzureSql", "GP_S_Gen5_4", 1, 14, 16)]
    [InlineData("PostgreSql", "Standard_B2s", PlatformLowestMaximum, 40, 8)]
    [InlineData("PostgreSql", "Standard_D2ds_v5", PlatformLowestMaximum, 41, 16)]
    [InlineData("PostgreSql", "Standard_D4ds_v5", PlatformLowestMaximum, 84, 16)]
    [InlineData("PostgreSql", "Standard_D8ds_v5", PlatformLowestMaximum, 100, 16)]
    [InlineData("PostgreSql", "Standard_B2s", 1, 20, 16)]
    public void WithDefaultRequestsTheDatabaseSizeGivesTheseInstancesAndConcurrency(string engine, string size, int lowest, long instances, long concurrency)
    {
        var app = DeployedApp.Evaluate(engine, size, lowest: lowest);

        Assert.Equal((instances, concurrency), (app.MaximumInstanceCount, app.PerInstanceConcurrency));
    }

    [Fact]
    public void TheDefaultDatabaseIsAzureSqlAtItsSmallestSize()
    {
        var parameters = CompiledBicep.MainTemplate.Template["parameters"]!;

        Assert.Equal("AzureSql", (string?)parameters["databaseEngine"]!["defaultValue"]);
        Assert.Equal("GP_S_Gen5_1", (string?)parameters["sqlDatabaseSkuName"]!["defaultValue"]);
        Assert.Equal(PlatformLowestMaximum, (int?)parameters["flexLowestMaximumInstanceCount"]!["defaultValue"]);
    }

    [Fact]
    public void EveryAllowedSizeHasADocumentedLimitInTheseTests()
    {
        Assert.Equal(AzureSqlMaxWorkers.Keys.Order(), AllowedValues("sqlDatabaseSkuName").Order());
        Assert.Equal(PostgreSqlMaxConnections.Keys.Order(), AllowedValues("postgreSqlSkuName").Order());
    }

    private static int DocumentedLimit(string engine, string size) =>
        engine == "AzureSql" ? AzureSqlMaxWorkers[size] : PostgreSqlMaxConnections[size] - PostgreSqlAzureReservedConnections;

    private static IEnumerable<(string Engine, string Size)> AllowedSizes() =>
        AllowedValues("sqlDatabaseSkuName").Select(s => ("AzureSql", s))
            .Concat(AllowedValues("postgreSqlSkuName").Select(s => ("PostgreSql", s)));

    private static IEnumerable<string> AllowedValues(string parameter) =>
        CompiledBicep.MainTemplate.Template["parameters"]![parameter]!["allowedValues"]!.AsArray().Select(v => (string)v!);

    private static Dictionary<string, object?> Map(object? value) => Assert.IsType<Dictionary<string, object?>>(value);

    /// <summary>The Function App as the compiled template would deploy it with these parameters.</summary>
    internal sealed record DeployedApp(ArmEvaluator Main, long MaximumInstanceCount, long PerInstanceConcurrency, IReadOnlyDictionary<string, string> Settings)
    {
        public string Setting(string name) => Settings[name];

        public long MaxPoolSize => Setting("Database__Provider") == "AzureSql"
            ? new SqlConnectionStringBuilder(Setting("ConnectionStrings__Users")).MaxPoolSize
            : new NpgsqlConnectionStringBuilder(Setting("ConnectionStrings__Users")).MaxPoolSize;

        public static DeployedApp Evaluate(string engine, string size, int? concurrency = null, int? instances = null, int? lowest = null)
        {
            var parameters = new Dictionary<string, object?>
            {
                ["databaseEngine"] = engine,
                [engine == "AzureSql" ? "sqlDatabaseSkuName" : "postgreSqlSkuName"] = size,
            };
            if (concurrency is { } c)
            {
                parameters["httpPerInstanceConcurrency"] = (long)c;
            }

            if (instances is { } i)
            {
                parameters["maximumInstanceCount"] = (long)i;
            }

            if (lowest is { } l)
            {
                parameters["flexLowestMaximumInstanceCount"] = (long)l;
            }

            var main = ArmEvaluator.For(CompiledBicep.MainTemplate.Template, parameters);
            var api = main.Module("api");
            var site = api.Resources().Single(r => (string?)r["type"] == "Microsoft.Web/sites");
            var properties = Map(api.Evaluate(site["properties"]));
            var scale = Map(Map(properties["functionAppConfig"])["scaleAndConcurrency"]);
            var http = Map(Map(scale["triggers"])["http"]);
            var settings = ((List<object?>)Map(properties["siteConfig"])["appSettings"]!)
                .Select(Map)
                .ToDictionary(s => (string)s["name"]!, s => s["value"] as string ?? "<not a string>");
            return new DeployedApp(main, (long)scale["maximumInstanceCount"]!, (long)http["perInstanceConcurrency"]!, settings);
        }
    }
}
