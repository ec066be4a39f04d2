using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using UserFunctions.TestHost.Rpc;

namespace UserFunctions.TestHost;

/// <summary>An HTTP-triggered function as the host routes it: its trigger binding's route, methods and auth level.</summary>
/// <remarks>Route constraints (<c>{id:int}</c>) are not checked; the app's routes have none.</remarks>
public sealed class HttpFunction(string name, string functionId, string triggerName, string route, IReadOnlySet<string> methods, string authLevel)
{
    private readonly TemplateMatcher _matcher = new(TemplateParser.Parse(route), []);

    public string Name { get; } = name;

    public string FunctionId { get; } = functionId;

    /// <summary>The trigger binding's name, under which the invocation carries the request.</summary>
    public string TriggerName { get; } = triggerName;

    public string Route { get; } = route;

    /// <summary>Upper case; empty means every method.</summary>
    public IReadOnlySet<string> Methods { get; } = methods;

    /// <summary><c>anonymous</c> needs no key; <c>function</c> and <c>admin</c> need the host's one key.</summary>
    public string AuthLevel { get; } = authLevel;

    public bool IsAnonymous => string.Equals(AuthLevel, "anonymous", StringComparison.OrdinalIgnoreCase);

    /// <summary>Matches a path below the route prefix; fills <paramref name="values"/> with the route values.</summary>
    public bool TryMatch(PathString pathBelowPrefix, RouteValueDictionary values) => _matcher.TryMatch(pathBelowPrefix, values);

    public bool Accepts(string method) => Methods.Count == 0 || Methods.Contains(method);

    /// <summary>The HTTP function described by a function's metadata, or null for functions of other triggers.</summary>
    internal static HttpFunction? From(RpcFunctionMetadata metadata)
    {
        foreach (var rawBinding in metadata.RawBindings)
        {
            using var binding = JsonDocument.Parse(rawBinding);
            var root = binding.RootElement;
            if (!string.Equals(Text(root, "type"), "httpTrigger", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var methods = root.TryGetProperty("methods", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal)
                : [];
            return new HttpFunction(
                metadata.Name,
                metadata.FunctionId,
                Text(root, "name") ?? "req",
                Text(root, "route") ?? metadata.Name,
                methods,
                Text(root, "authLevel") ?? "function");
        }

        return null;
    }

    /// <summary>
    /// Reads <c>functions.metadata</c>, the build's description of the functions, when the worker asks the host to index
    /// them itself (<c>use_default_metadata_indexing</c>).
    /// </summary>
    internal static IEnumerable<RpcFunctionMetadata> ReadMetadataFile(string appDirectory)
    {
        var path = Path.Combine(appDirectory, "functions.metadata");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var function in document.RootElement.EnumerateArray())
        {
            var metadata = new RpcFunctionMetadata
            {
                Name = Text(function, "name") ?? throw new InvalidOperationException($"A function in {path} has no name."),
                FunctionId = Guid.NewGuid().ToString(),
                Directory = appDirectory,
                ScriptFile = Path.Combine(appDirectory, Text(function, "scriptFile") ?? ""),
                EntryPoint = Text(function, "entryPoint") ?? "",
                Language = Text(function, "language") ?? "dotnet-isolated",
            };
            foreach (var binding in function.GetProperty("bindings").EnumerateArray())
            {
                metadata.RawBindings.Add(binding.GetRawText());
                metadata.Bindings[Text(binding, "name") ?? ""] = new BindingInfo
                {
                    Type = Text(binding, "type") ?? "",
                    Direction = Enum.TryParse<BindingInfo.Types.Direction>(Text(binding, "direction"), ignoreCase: true, out var direction)
                        ? direction
                        : BindingInfo.Types.Direction.In,
                };
            }

            yield return metadata;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
