using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace UserFunctions.Tests.Infrastructure;

// infra/main.bicep compiled to ARM JSON once per test run, with every resource of every nested deployment flattened.
internal sealed class CompiledBicep
{
    private static readonly Lazy<CompiledBicep> Main = new(() => Compile(RepositoryRoot.Combine("infra", "main.bicep")));

    private CompiledBicep(JsonObject template)
    {
        Template = template;
        var resources = new List<JsonObject>();
        var parameters = new List<KeyValuePair<string, JsonObject>>();
        Collect(template, resources, parameters);
        Resources = resources;
        Parameters = parameters;
    }

    public static CompiledBicep MainTemplate => Main.Value;

    public JsonObject Template { get; }

    public IReadOnlyList<JsonObject> Resources { get; }

    // Parameters of the main template and of every module.
    public IReadOnlyList<KeyValuePair<string, JsonObject>> Parameters { get; }

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"Expected exactly one {type}, found {matches.Count}.");
        return matches[0];
    }

    public static JsonObject Properties(JsonObject resource) =>
        resource["properties"]?.AsObject() ?? throw new InvalidOperationException($"{resource["type"]} has no properties.");

    // The function app's settings, from siteConfig.appSettings and from any sites/config 'appsettings' resource.
    public IReadOnlyDictionary<string, string> AppSettings()
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var site in OfType("Microsoft.Web/sites"))
        {
            foreach (var setting in Properties(site)["siteConfig"]?["appSettings"]?.AsArray() ?? [])
            {
                settings[(string)setting!["name"]!] = setting["value"]?.ToJsonString() is { } json ? Unquote(json) : "";
            }
        }

        foreach (var config in OfType("Microsoft.Web/sites/config").Where(c => ((string?)c["name"])?.EndsWith("appsettings", StringComparison.OrdinalIgnoreCase) == true))
        {
            foreach (var (name, value) in Properties(config))
            {
                settings[name] = value is null ? "" : Unquote(value.ToJsonString());
            }
        }

        return settings;
    }

    private static string Unquote(string json) => JsonNode.Parse(json) is JsonValue value && value.TryGetValue<string>(out var text) ? text : json;

    private static void Collect(JsonObject template, List<JsonObject> resources, List<KeyValuePair<string, JsonObject>> parameters)
    {
        foreach (var (name, parameter) in template["parameters"]?.AsObject() ?? [])
        {
            parameters.Add(new(name, parameter!.AsObject()));
        }

        // Plain templates list resources in an array; symbolic-name templates (languageVersion 2.0) in an object.
        var nodes = template["resources"] switch
        {
            JsonArray array => array.Select(n => n!.AsObject()),
            JsonObject map => map.Select(p => p.Value!.AsObject()),
            _ => [],
        };
        foreach (var resource in nodes)
        {
            resources.Add(resource);
            if (string.Equals((string?)resource["type"], "Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
                && resource["properties"]?["template"] is JsonObject nested)
            {
                Collect(nested, resources, parameters);
            }
        }
    }

    private static CompiledBicep Compile(string bicepFile)
    {
        var start = new ProcessStartInfo(BicepCli(), ["build", bicepFile, "--stdout"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the Bicep CLI.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("bicep build took more than two minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"bicep build failed ({process.ExitCode}):\n{stderr.Result}");
        }

        return new CompiledBicep(JsonNode.Parse(stdout)!.AsObject());
    }

    // The binary from the Azure.Bicep.CommandLine.linux-x64 package (path provided by the build), else BICEP_PATH or
    // `bicep` on PATH (for example after `az bicep install`) on other platforms.
    private static string BicepCli()
    {
        var fromPackage = typeof(CompiledBicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "BicepCliPath")?.Value;
        if (OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64 && File.Exists(fromPackage))
        {
            return fromPackage;
        }

        return Environment.GetEnvironmentVariable("BICEP_PATH") is { Length: > 0 } configured ? configured : "bicep";
    }
}
