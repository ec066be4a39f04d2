using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace UserFunctions.Tests.OpenApi;

/// <summary>
/// Sits in the HTTP suite's client, so every response a test sees is checked against the OpenAPI document the host
/// serves: the status is declared for the operation, the media type is declared for that status, the body validates
/// against the declared schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1), and required response headers are
/// present. A response to a route or method the document does not describe (a test of unknown routes) is not checked.
/// A violation fails the request with a message that names it.
/// </summary>
public sealed class ConformanceHandler(HttpMessageHandler inner, string documentPath = "/api/openapi.json") : DelegatingHandler(inner)
{
    /// <summary>
    /// Set on a request whose answer comes from the host, not the API (a cancelled invocation's 502): the document does not
    /// describe the host's own failures.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> AnsweredByTheHost = new(nameof(AnsweredByTheHost));

    private readonly SemaphoreSlim _loading = new(1, 1);
    private OpenApiDescription? _description;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.Options.TryGetValue(AnsweredByTheHost, out var byTheHost) && byTheHost)
        {
            return response;
        }

        var description = await DescriptionAsync(request.RequestUri!, cancellationToken);
        if (description.Find(request.Method, request.RequestUri!) is { } operation)
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (operation.Check(response, body) is { } violation)
            {
                response.Dispose();
                throw new OpenApiConformanceException(
                    $"{request.Method} {request.RequestUri!.PathAndQuery} → {(int)response.StatusCode}: {violation}\nBody: {Truncate(body)}");
            }
        }

        return response;
    }

    private async Task<OpenApiDescription> DescriptionAsync(Uri requestUri, CancellationToken cancellationToken)
    {
        if (_description is not null)
        {
            return _description;
        }

        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_description is null)
            {
                using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(requestUri, documentPath));
                using var response = await base.SendAsync(get, cancellationToken);
                response.EnsureSuccessStatusCode();
                _description = new OpenApiDescription(JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject());
            }

            return _description;
        }
        finally
        {
            _loading.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _loading.Dispose();
        }

        base.Dispose(disposing);
    }

    private static string Truncate(string body) => body.Length <= 500 ? body : body[..500] + "…";
}

public sealed class OpenApiConformanceException(string message) : Exception(message);

/// <summary>The document's operations, found by method and path, each with its responses' checks.</summary>
internal sealed class OpenApiDescription
{
    private readonly List<(Regex Path, string Method, JsonObject Operation)> _operations = [];
    private readonly JsonObject _document;
    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new();

    public OpenApiDescription(JsonObject document)
    {
        _document = document;
        // Paths are relative to the server URL's path (e.g. /api), whether it is absolute or not.
        var basePath = document["servers"]?[0]?["url"]?.GetValue<string>() is { } server
            ? (Uri.TryCreate(server, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : server).TrimEnd('/')
            : "";
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            var pattern = "^" + Regex.Replace(Regex.Escape(basePath + path), @"\\\{[^}]+}", "[^/]+") + "/?$";
            foreach (var (method, operation) in item!.AsObject())
            {
                if (operation is JsonObject operationObject && method is not ("parameters" or "summary" or "description" or "servers"))
                {
                    _operations.Add((new Regex(pattern, RegexOptions.CultureInvariant), method.ToUpperInvariant(), operationObject));
                }
            }
        }
    }

    public DescribedOperation? Find(HttpMethod method, Uri uri) =>
        _operations.FirstOrDefault(o => o.Method == method.Method && o.Path.IsMatch(uri.AbsolutePath)) is { Operation: { } operation }
            ? new DescribedOperation(this, operation)
            : null;

    internal JsonNode Resolve(JsonNode node)
    {
        for (var depth = 0; node is JsonObject obj && obj["$ref"]?.GetValue<string>() is { } reference; depth++)
        {
            if (depth > 16 || !reference.StartsWith("#/", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Cannot resolve {reference}.");
            }

            node = reference[2..].Split('/').Aggregate((JsonNode)_document, (current, segment) =>
                current[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)]
                ?? throw new InvalidOperationException($"{reference} names nothing."));
        }

        return node;
    }

    /// <summary>A schema with every local <c>$ref</c> inlined, so that it stands alone.</summary>
    internal JsonSchema Schema(JsonNode schema) => _schemas.GetOrAdd(schema.ToJsonString(), _ =>
    {
        var inlined = Inline(schema, 0);
        if (inlined is JsonObject root)
        {
            root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        }

        // A registry of its own: building into the library's global one from parallel tests corrupts its dictionary.
        return JsonSchema.FromText(inlined!.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
    });

    // Builds a new tree: a node may have one parent only.
    private JsonNode? Inline(JsonNode? node, int depth)
    {
        if (depth > 32)
        {
            throw new InvalidOperationException("The schema is too deeply nested or recursive.");
        }

        return node switch
        {
            JsonObject obj when obj["$ref"] is not null => Inline(Resolve(obj), depth + 1),
            JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Inline(p.Value, depth + 1)))),
            JsonArray array => new JsonArray([.. array.Select(item => Inline(item, depth + 1))]),
            _ => node?.DeepClone(),
        };
    }
}

internal sealed class DescribedOperation(OpenApiDescription description, JsonObject operation)
{
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    /// <returns>Null when the response conforms; else what does not.</returns>
    public string? Check(HttpResponseMessage response, string body)
    {
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var responses = operation["responses"]!.AsObject();
        var declared = responses[status] ?? responses[status[0] + "XX"] ?? responses["default"];
        if (declared is null)
        {
            return $"status {status} is not declared for {operation["operationId"]} (declared: {string.Join(", ", responses.Select(r => r.Key))})";
        }

        var described = description.Resolve(declared).AsObject();
        foreach (var (name, header) in described["headers"]?.AsObject() ?? [])
        {
            var required = description.Resolve(header!)["required"]?.GetValue<bool>() == true;
            if (required && !response.Headers.NonValidated.Contains(name) && !response.Content.Headers.NonValidated.Contains(name))
            {
                return $"the required header {name} is missing";
            }
        }

        if (body.Length == 0)
        {
            return described["content"] is JsonObject { Count: > 0 } content && response.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.NotModified)
                && !content.Any(c => c.Value?["schema"] is null)
                ? "the body is empty but the document declares one"
                : null;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || described["content"]?[mediaType] is not { } media)
        {
            return $"media type {mediaType ?? "(none)"} is not declared for {status} (declared: {string.Join(", ", described["content"]?.AsObject().Select(c => c.Key) ?? [])})";
        }

        if (media["schema"] is not { } schema || !mediaType.EndsWith("json", StringComparison.Ordinal))
        {
            return null;
        }

        using var document = JsonDocument.Parse(body);
        var result = description.Schema(schema).Evaluate(document.RootElement, Evaluation);
        return result.IsValid
            ? null
            : "the body does not match the schema: " + string.Join("; ", (result.Details ?? [])
                .Where(d => d.Errors is not null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}"))
                .Take(5));
    }
}
