using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace UserFunctions.Tests.Infrastructure;

// infra/main.bicep compiled with the Bicep CLI; every assertion reads the ARM JSON Azure would receive.
public partial class BicepTests
{
    private static CompiledBicep Compiled => CompiledBicep.MainTemplate;

    private static JsonObject Site => CompiledBicep.Properties(Compiled.Single("Microsoft.Web/sites"));

    private static JsonObject SiteConfig => Site["siteConfig"]!.AsObject();

    [Fact]
    public void TheFunctionAppAcceptsHttpsOnly()
    {
        Assert.True((bool?)Site["httpsOnly"]);
    }

    [Fact]
    public void TheFunctionAppHasFtpDisabled()
    {
        Assert.Equal("Disabled", (string?)SiteConfig["ftpsState"]);
    }

    [Fact]
    public void TheFunctionAppRequiresTls12()
    {
        Assert.Equal("1.2", (string?)SiteConfig["minTlsVersion"]);
    }

    [Fact]
    public void TheFunctionAppRunsDotnetIsolated10OnAFlexConsumptionPlan()
    {
        var plan = Compiled.Single("Microsoft.Web/serverfarms");
        var runtime = Site["functionAppConfig"]!["runtime"]!;

        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("dotnet-isolated", (string?)runtime["name"]);
        Assert.Equal("10.0", (string?)runtime["version"]);
    }

    [Fact]
    public void TheFunctionAppReadsItsDeploymentPackageWithItsUserAssignedIdentity()
    {
        var authentication = Site["functionAppConfig"]!["deployment"]!["storage"]!["authentication"]!;

        Assert.Equal("UserAssignedIdentity", (string?)authentication["type"]);
        Assert.False(string.IsNullOrEmpty((string?)authentication["userAssignedIdentityResourceId"]));
    }

    [Fact]
    public void TheApiCarriesTheAzdServiceNameTag()
    {
        var tags = Compiled.Single("Microsoft.Web/sites")["tags"]!.ToJsonString();

        Assert.Contains("azd-service-name", tags, StringComparison.Ordinal);
        Assert.Contains("api", tags, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryStorageAccountRefusesSharedKeyAccess()
    {
        foreach (var storage in StorageAccounts())
        {
            Assert.False((bool?)storage["allowSharedKeyAccess"] ?? true, "allowSharedKeyAccess must be false.");
        }
    }

    [Fact]
    public void EveryStorageAccountRefusesAnonymousBlobAccess()
    {
        foreach (var storage in StorageAccounts())
        {
            Assert.False((bool?)storage["allowBlobPublicAccess"] ?? true, "allowBlobPublicAccess must be false.");
        }
    }

    [Fact]
    public void EveryStorageAccountRequiresHttpsAndTls12()
    {
        foreach (var storage in StorageAccounts())
        {
            Assert.Equal("TLS1_2", (string?)storage["minimumTlsVersion"]);
            Assert.True((bool?)storage["supportsHttpsTrafficOnly"]);
        }
    }

    [Fact]
    public void ApplicationInsightsRefusesLocalAuthentication()
    {
        var components = Compiled.OfType("Microsoft.Insights/components").ToList();

        Assert.NotEmpty(components);
        Assert.All(components, c => Assert.True((bool?)CompiledBicep.Properties(c)["DisableLocalAuth"]));
    }

    [Fact]
    public void TheAzureSqlServerAcceptsOnlyEntraAuthentication()
    {
        var server = CompiledBicep.Properties(Compiled.Single("Microsoft.Sql/servers"));

        Assert.True((bool?)server["administrators"]?["azureADOnlyAuthentication"]);
        Assert.Null(server["administratorLogin"]);
        Assert.Null(server["administratorLoginPassword"]);
    }

    [Fact]
    public void TheAzureSqlServerRequiresTls12()
    {
        var server = CompiledBicep.Properties(Compiled.Single("Microsoft.Sql/servers"));

        Assert.Equal("1.2", (string?)server["minimalTlsVersion"]);
    }

    [Fact]
    public void TheAzureSqlAdminComesFromDeploymentParametersAndIsNeverTheAppIdentity()
    {
        var administrators = CompiledBicep.Properties(Compiled.Single("Microsoft.Sql/servers"))["administrators"]!;
        var module = Compiled.OfType("Microsoft.Resources/deployments").Single(d => (string?)d["name"] == "azuresql");
        var adminObjectId = (string?)module["properties"]!["parameters"]!["adminObjectId"]!["value"] ?? "";

        Assert.Equal("[parameters('adminObjectId')]", (string?)administrators["sid"]);
        Assert.Contains("parameters('databaseAdminObjectId')", adminObjectId, StringComparison.Ordinal);
        Assert.DoesNotContain("principalId", adminObjectId, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NoAzureSqlFirewallRuleIsWiderThanTheAllowAzureServicesRule()
    {
        foreach (var rule in Compiled.OfType("Microsoft.Sql/servers/firewallRules"))
        {
            var properties = CompiledBicep.Properties(rule);
            var range = $"{properties["startIpAddress"]} - {properties["endIpAddress"]}";

            Assert.True(range == "0.0.0.0 - 0.0.0.0", $"Firewall rule {rule["name"]} opens {range}; only 0.0.0.0 - 0.0.0.0 (Azure services) is allowed.");
        }
    }

    [Fact]
    public void TheAzureSqlAllowAzureServicesRuleExistsOnlyWhenPublicNetworkAccessIsEnabled()
    {
        var rule = Compiled.Single("Microsoft.Sql/servers/firewallRules");

        Assert.Contains("publicNetworkAccess", (string?)rule["condition"] ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void ThePostgreSqlServerAcceptsOnlyEntraAuthentication()
    {
        var server = CompiledBicep.Properties(Compiled.Single("Microsoft.DBforPostgreSQL/flexibleServers"));

        Assert.Equal("Enabled", (string?)server["authConfig"]?["activeDirectoryAuth"]);
        Assert.Equal("Disabled", (string?)server["authConfig"]?["passwordAuth"]);
        Assert.Null(server["administratorLogin"]);
        Assert.Null(server["administratorLoginPassword"]);
    }

    [Fact]
    public void ThePostgreSqlServerRequiresTls12()
    {
        var settings = Compiled.OfType("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
            .ToDictionary(c => ((string)c["name"]!).Split('\'')[^2], c => (string?)CompiledBicep.Properties(c)["value"]);

        Assert.Equal("on", settings["require_secure_transport"]);
        Assert.Equal("TLSv1.2", settings["ssl_min_protocol_version"]);
    }

    [Fact]
    public void ThePostgreSqlAdminComesFromDeploymentParametersAndIsNeverTheAppIdentity()
    {
        var admin = Compiled.Single("Microsoft.DBforPostgreSQL/flexibleServers/administrators");
        var module = Compiled.OfType("Microsoft.Resources/deployments").Single(d => (string?)d["name"] == "postgresql");
        var adminObjectId = (string?)module["properties"]!["parameters"]!["adminObjectId"]!["value"] ?? "";

        Assert.Contains("parameters('adminObjectId')", (string?)admin["name"], StringComparison.Ordinal);
        Assert.Contains("parameters('databaseAdminObjectId')", adminObjectId, StringComparison.Ordinal);
        Assert.DoesNotContain("principalId", adminObjectId, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NoPostgreSqlFirewallRuleIsWiderThanTheAllowAzureServicesRule()
    {
        var rules = Compiled.OfType("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules").ToList();

        Assert.NotEmpty(rules);
        foreach (var rule in rules)
        {
            var properties = CompiledBicep.Properties(rule);
            var range = $"{properties["startIpAddress"]} - {properties["endIpAddress"]}";

            Assert.True(range == "0.0.0.0 - 0.0.0.0", $"Firewall rule {rule["name"]} opens {range}; only 0.0.0.0 - 0.0.0.0 (Azure services) is allowed.");
            Assert.Contains("publicNetworkAccess", (string?)rule["condition"] ?? "", StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("AzureSql", "azuresql")]
    [InlineData("PostgreSql", "postgresql")]
    public void OnlyTheChosenDatabaseIsDeployed(string engine, string module)
    {
        var main = ArmEvaluator.For(Compiled.Template, new Dictionary<string, object?> { ["databaseEngine"] = engine });
        var other = module == "azuresql" ? "postgresql" : "azuresql";

        Assert.Equal(true, main.ModuleCondition(module));
        Assert.Equal(false, main.ModuleCondition(other));
    }

    [Fact]
    public void NoOutputLooksLikeASecret()
    {
        foreach (var (name, output) in Compiled.Template["outputs"]!.AsObject())
        {
            Assert.False(SecretWords().IsMatch(name), $"Output {name} looks like a secret.");
            Assert.NotEqual("securestring", (string?)output!["type"], StringComparer.OrdinalIgnoreCase);
            Assert.DoesNotContain("listKeys", output["value"]?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void NoAppSettingNameOrValueLooksLikeASecret()
    {
        var settings = Compiled.AppSettings();

        Assert.NotEmpty(settings);
        foreach (var (name, value) in settings)
        {
            Assert.False(SecretWords().IsMatch(name), $"App setting {name} looks like a secret.");
            Assert.False(SecretWords().IsMatch(value), $"App setting {name} has a value that looks like a secret: {value}");
        }
    }

    [Fact]
    public void NoParameterIsASecret()
    {
        foreach (var (name, parameter) in Compiled.Parameters)
        {
            var type = (string?)parameter["type"] ?? "";

            Assert.False(SecretWords().IsMatch(name), $"Parameter {name} looks like a secret.");
            Assert.False(type.StartsWith("secure", StringComparison.OrdinalIgnoreCase), $"Parameter {name} is {type}.");
            // A default that is one of the allowed values is a published choice (authMode's FunctionKeys), not a secret.
            var isChoice = parameter["allowedValues"]?.AsArray().Any(v => JsonNode.DeepEquals(v, parameter["defaultValue"])) == true;
            Assert.False(!isChoice && SecretWords().IsMatch(parameter["defaultValue"]?.ToJsonString() ?? ""), $"Parameter {name} has a default that looks like a secret.");
        }
    }

    [Fact]
    public void TheTemplateNeverReadsOrEmbedsKeys()
    {
        var json = Compiled.Template.ToJsonString();

        Assert.DoesNotContain("listKeys(", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey=", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("SharedAccessKey", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Password=", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TheAzureSqlConnectionStringIsPasswordlessSoTheAppAddsItsOwnToken()
    {
        var connectionString = CapacityPlanTests.DeployedApp.Evaluate("AzureSql", "GP_S_Gen5_1").Setting("ConnectionStrings__Users");

        Assert.Contains("Encrypt=True", connectionString, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", connectionString, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Pwd", connectionString, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Authentication", connectionString, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("User ID", connectionString, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ThePostgreSqlConnectionStringIsPasswordlessVerifiesTheServerAndSignsInAsTheAppIdentity()
    {
        var app = CapacityPlanTests.DeployedApp.Evaluate("PostgreSql", "Standard_B2s");
        var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(app.Setting("ConnectionStrings__Users"));

        Assert.Null(connectionString.Password);
        Assert.Null(connectionString.Passfile);
        Assert.Equal(Npgsql.SslMode.VerifyFull, connectionString.SslMode);
        // The grant step names the app's role after its identity (id-api-<token>, the token being Azure's to know).
        Assert.Equal(app.Main.Module("identity").Output("identityName"), connectionString.Username);
        Assert.StartsWith("id-api-", connectionString.Username, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AzureSql")]
    [InlineData("PostgreSql")]
    public void TheAppUsesTheChosenProviderAndItsUserAssignedIdentity(string engine)
    {
        var settings = Compiled.AppSettings();

        Assert.Equal(engine, CapacityPlanTests.DeployedApp.Evaluate(engine, engine == "AzureSql" ? "GP_S_Gen5_1" : "Standard_B2s").Setting("Database__Provider"));
        Assert.Equal("[parameters('identityClientId')]", settings["AZURE_CLIENT_ID"]);
    }

    [Fact]
    public void TheHostReachesStorageWithItsIdentity()
    {
        var settings = Compiled.AppSettings();

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("[parameters('identityClientId')]", settings["AzureWebJobsStorage__clientId"]);
        Assert.True(settings.ContainsKey("AzureWebJobsStorage__accountName"));
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"), "A plain AzureWebJobsStorage setting is a connection string with a key.");
    }

    [Fact]
    public void TelemetryIsSentWithEntraAuthentication()
    {
        var settings = Compiled.AppSettings();

        Assert.True(settings.ContainsKey("APPLICATIONINSIGHTS_CONNECTION_STRING"));
        Assert.Contains("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        Assert.Contains("ClientId=", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
    }

    [Fact]
    public void RoleAssignmentNamesAreDerivedFromScopePrincipalAndRole()
    {
        var assignments = Compiled.OfType("Microsoft.Authorization/roleAssignments").ToList();

        Assert.NotEmpty(assignments);
        Assert.All(assignments, a => Assert.StartsWith("[guid(", (string?)a["name"], StringComparison.Ordinal));
    }

    [Fact]
    public void TheParametersFileSuppliesEveryRequiredParameterAndNoUnknownOne()
    {
        var file = JsonNode.Parse(File.ReadAllText(RepositoryRoot.Combine("infra", "main.parameters.json")))!["parameters"]!.AsObject();
        var declared = Compiled.Template["parameters"]!.AsObject();
        var required = declared.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key);

        Assert.All(file.Select(p => p.Key), name => Assert.True(declared.ContainsKey(name), $"main.parameters.json sets unknown parameter {name}."));
        Assert.All(required, name => Assert.True(file.ContainsKey(name), $"main.parameters.json lacks required parameter {name}."));
    }

    [Fact]
    public void TheTemplateOutputsWhatAzdAndThePipelinesRead()
    {
        var outputs = Compiled.Template["outputs"]!.AsObject();

        foreach (var name in new[]
        {
            "AZURE_LOCATION", "AZURE_RESOURCE_GROUP", "FUNCTION_APP_NAME", "API_BASE_URL", "DATABASE_SERVER_NAME",
            "DATABASE_SERVER_FQDN", "DATABASE_NAME", "APP_IDENTITY_NAME", "APP_IDENTITY_CLIENT_ID", "APP_IDENTITY_PRINCIPAL_ID",
            "DATABASE_ENGINE",
        })
        {
            Assert.True(outputs.ContainsKey(name), $"Missing output {name}.");
        }
    }

    [Fact]
    public void EveryVariableTheDatabaseScriptsRequireIsATemplateOutputOrAParameterVariable()
    {
        var outputs = Compiled.Template["outputs"]!.AsObject().Select(o => o.Key);
        var parameterVariables = ParameterVariable().Matches(File.ReadAllText(RepositoryRoot.Combine("infra", "main.parameters.json")))
            .Select(m => m.Groups[1].Value);
        var known = outputs.Concat(parameterVariables).ToHashSet(StringComparer.Ordinal);

        foreach (var script in new[] { "update-database.sh", "grant-app-user-azuresql.sh", "grant-app-user-postgresql.sh" })
        {
            var required = RequiredVariable().Matches(File.ReadAllText(RepositoryRoot.Combine("deploy", script)))
                .Select(m => m.Groups[1].Value).Distinct().ToList();

            Assert.NotEmpty(required);
            Assert.All(required, name => Assert.True(known.Contains(name), $"deploy/{script} requires {name}: no template output or main.parameters.json variable has that name."));
        }
    }

    private static List<JsonObject> StorageAccounts()
    {
        var accounts = Compiled.OfType("Microsoft.Storage/storageAccounts").Select(CompiledBicep.Properties).ToList();
        Assert.NotEmpty(accounts);
        return accounts;
    }

    [GeneratedRegex("password|passwd|pwd|secret|key", RegexOptions.IgnoreCase)]
    private static partial Regex SecretWords();

    // ${NAME:?message}: a variable the script cannot run without.
    [GeneratedRegex(@"\$\{([A-Z][A-Z0-9_]*):\?")]
    private static partial Regex RequiredVariable();

    // ${NAME} or ${NAME=default}: an azd environment variable main.parameters.json passes to the template.
    [GeneratedRegex(@"\$\{([A-Z][A-Z0-9_]*)[}=]")]
    private static partial Regex ParameterVariable();
}
