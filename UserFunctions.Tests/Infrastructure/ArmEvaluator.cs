using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace UserFunctions.Tests.Infrastructure;

/// <summary>
/// Evaluates the compiled template's ARM expressions for given parameter values, as Resource Manager would before it
/// deploys: parameters, variables, arithmetic, comparisons, <c>if</c>, <c>format</c>, and the outputs of nested
/// deployments (<c>reference(...)</c> of a module). What only Azure knows (subscription, tenant, unique strings, other
/// resources' properties) evaluates to <see cref="Unknown"/>, which spreads through whatever uses it. Enough for the
/// capacity plan's arithmetic, not a full implementation of the template language.
/// </summary>
internal sealed class ArmEvaluator
{
    /// <summary>A value only Azure knows at deployment time.</summary>
    public static readonly object Unknown = new UnknownValue();

    private readonly JsonObject _template;
    private readonly Dictionary<string, object?> _parameters;
    private readonly Dictionary<string, object?> _variables = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ArmEvaluator> _deployments = new(StringComparer.OrdinalIgnoreCase);

    private ArmEvaluator(JsonObject template, IReadOnlyDictionary<string, object?> parameters)
    {
        _template = template;
        _parameters = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, declaration) in template["parameters"]?.AsObject() ?? [])
        {
            if (parameters.TryGetValue(name, out var value))
            {
                var allowed = declaration!["allowedValues"]?.AsArray().Select(FromJson).ToList();
                if (allowed is not null && !allowed.Any(a => Equals(Normalize(a), Normalize(value))))
                {
                    throw new ArgumentException($"{value} is not an allowed value of parameter {name}.");
                }

                _parameters[name] = value;
            }
            else if (declaration!["defaultValue"] is { } defaultValue)
            {
                _parameters[name] = Evaluate(defaultValue);
            }
            else
            {
                _parameters[name] = Unknown;
            }
        }
    }

    /// <summary>The top-level template with these parameter values (the others take their defaults, or are unknown).</summary>
    public static ArmEvaluator For(JsonObject template, IReadOnlyDictionary<string, object?> parameters) => new(template, parameters);

    /// <summary>The nested deployment (module) of this name, with the parameters this template passes it.</summary>
    public ArmEvaluator Module(string name)
    {
        if (_deployments.TryGetValue(name, out var existing))
        {
            return existing;
        }

        var deployment = Resources().SingleOrDefault(r =>
            string.Equals((string?)r["type"], "Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
            && string.Equals(Evaluate(r["name"]) as string, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"No module named {name}.");
        var parameters = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (parameter, wrapper) in deployment["properties"]!["parameters"]?.AsObject() ?? [])
        {
            // Either { "value": ... } or an expression that yields that object.
            var evaluated = Evaluate(wrapper);
            parameters[parameter] = evaluated is Dictionary<string, object?> map && map.TryGetValue("value", out var value) ? value : Unknown;
        }

        var module = new ArmEvaluator(deployment["properties"]!["template"]!.AsObject(), parameters);
        _deployments[name] = module;
        return module;
    }

    /// <summary>Whether this template deploys the module: its condition, when it has one.</summary>
    public object? ModuleCondition(string name)
    {
        var deployment = Resources().Single(r =>
            string.Equals((string?)r["type"], "Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
            && string.Equals(Evaluate(r["name"]) as string, name, StringComparison.OrdinalIgnoreCase));
        return deployment["condition"] is { } condition ? Evaluate(condition) : true;
    }

    public IEnumerable<JsonObject> Resources() => _template["resources"] switch
    {
        JsonArray array => array.Select(n => n!.AsObject()),
        JsonObject map => map.Select(p => p.Value!.AsObject()),
        _ => [],
    };

    public object? Output(string name) =>
        Evaluate(_template["outputs"]?[name]?["value"] ?? throw new InvalidOperationException($"No output named {name}."));

    /// <summary>A JSON value of this template, with every expression in it evaluated.</summary>
    public object? Evaluate(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => Evaluate(p.Value), StringComparer.OrdinalIgnoreCase),
        JsonArray array => array.Select(Evaluate).ToList(),
        JsonValue value when value.TryGetValue<string>(out var text) => EvaluateString(text),
        _ => FromJson(node),
    };

    private object? EvaluateString(string text)
    {
        if (text.StartsWith("[[", StringComparison.Ordinal))
        {
            return text[1..];
        }

        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            var parser = new Parser(text[1..^1]);
            var expression = parser.ParseExpression();
            parser.ExpectEnd();
            return expression(this);
        }

        return text;
    }

    private object? Variable(string name)
    {
        if (!_variables.TryGetValue(name, out var value))
        {
            var node = _template["variables"]?[name] ?? throw new InvalidOperationException($"No variable named {name}.");
            value = Evaluate(node);
            _variables[name] = value;
        }

        return value;
    }

    private object? Call(string function, IReadOnlyList<object?> args)
    {
        switch (function.ToLowerInvariant())
        {
            case "parameters":
                return _parameters.TryGetValue((string)args[0]!, out var parameter) ? parameter : throw new InvalidOperationException($"No parameter {args[0]}.");
            case "variables":
                return Variable((string)args[0]!);
            case "createobject":
                var created = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i + 1 < args.Count; i += 2)
                {
                    created[(string)args[i]!] = args[i + 1];
                }

                return created;
            case "createarray":
                return args.ToList();
            case "format":
                return Format(args);
            case "reference":
                return args[0] is DeploymentId id && HasModule(id.Name)
                    ? new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["outputs"] = ModuleOutputs(id.Name) }
                    : Unknown;
            case "resourceid" or "extensionresourceid" when args.Count >= 2
                && string.Equals(args[^2] as string, "Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
                && args[^1] is string deploymentName:
                return new DeploymentId(deploymentName);
        }

        if (args.Any(a => a is UnknownValue))
        {
            return Unknown;
        }

        return function.ToLowerInvariant() switch
        {
            "add" => Int(args[0]) + Int(args[1]),
            "sub" => Int(args[0]) - Int(args[1]),
            "mul" => Int(args[0]) * Int(args[1]),
            "div" => Int(args[0]) / Int(args[1]),
            "mod" => Int(args[0]) % Int(args[1]),
            "min" => args.Select(Int).Min(),
            "max" => args.Select(Int).Max(),
            "int" => args[0] is string s ? long.Parse(s, CultureInfo.InvariantCulture) : Int(args[0]),
            "string" => args[0] is string s ? s : Convert.ToString(args[0], CultureInfo.InvariantCulture),
            "equals" => Equals(Normalize(args[0]), Normalize(args[1])),
            "not" => !(bool)args[0]!,
            "and" => args.All(a => (bool)a!),
            "or" => args.Any(a => (bool)a!),
            "less" => Int(args[0]) < Int(args[1]),
            "lessorequals" => Int(args[0]) <= Int(args[1]),
            "greater" => Int(args[0]) > Int(args[1]),
            "greaterorequals" => Int(args[0]) >= Int(args[1]),
            "empty" => args[0] switch
            {
                null => true,
                string s => s.Length == 0,
                System.Collections.ICollection c => c.Count == 0,
                _ => false,
            },
            "startswith" => ((string)args[0]!).StartsWith((string)args[1]!, StringComparison.OrdinalIgnoreCase),
            "tolower" => ((string)args[0]!).ToLowerInvariant(),
            "toupper" => ((string)args[0]!).ToUpperInvariant(),
            "concat" => string.Concat(args.Select(a => Convert.ToString(a, CultureInfo.InvariantCulture))),
            "union" => args.Cast<Dictionary<string, object?>>().Aggregate(
                new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase),
                (all, next) => { foreach (var (k, v) in next) { all[k] = v; } return all; }),
            "json" => FromJson(JsonNode.Parse((string)args[0]!)),
            _ => Unknown, // subscription(), tenant(), uniqueString(), resourceGroup(), guid(), ...: Azure's to know
        };
    }

    private bool HasModule(string name) => Resources().Any(r =>
        string.Equals((string?)r["type"], "Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
        && string.Equals(Evaluate(r["name"]) as string, name, StringComparison.OrdinalIgnoreCase));

    private Dictionary<string, object?> ModuleOutputs(string name)
    {
        var module = Module(name);
        return (module._template["outputs"]?.AsObject() ?? []).ToDictionary(
            o => o.Key,
            o => (object?)new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["value"] = module.Output(o.Key) },
            StringComparer.OrdinalIgnoreCase);
    }

    private static string Format(IReadOnlyList<object?> args)
    {
        var pattern = (string)args[0]!;
        var result = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '{' && i + 1 < pattern.Length && pattern[i + 1] == '{')
            {
                result.Append('{');
                i++;
            }
            else if (pattern[i] == '}' && i + 1 < pattern.Length && pattern[i + 1] == '}')
            {
                result.Append('}');
                i++;
            }
            else if (pattern[i] == '{')
            {
                var end = pattern.IndexOf('}', i);
                var value = args[1 + int.Parse(pattern[(i + 1)..end], CultureInfo.InvariantCulture)];
                result.Append(value is UnknownValue ? "<unknown>" : Convert.ToString(value, CultureInfo.InvariantCulture));
                i = end;
            }
            else
            {
                result.Append(pattern[i]);
            }
        }

        return result.ToString();
    }

    private static long Int(object? value) => value switch
    {
        long l => l,
        int i => i,
        _ => throw new InvalidOperationException($"Not an integer: {value}"),
    };

    private static object? Normalize(object? value) => value is int i ? (long)i : value;

    private static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => FromJson(p.Value), StringComparer.OrdinalIgnoreCase),
        JsonArray array => array.Select(FromJson).ToList(),
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value when value.TryGetValue<bool>(out var b) => b,
        JsonValue value when value.TryGetValue<long>(out var l) => l,
        _ => node.GetValue<double>(),
    };

    private static object? Member(object? target, string name) => target switch
    {
        UnknownValue => Unknown,
        Dictionary<string, object?> map => map.TryGetValue(name, out var value) ? value : throw new InvalidOperationException($"No property {name}."),
        _ => throw new InvalidOperationException($"Cannot read {name} of {target}."),
    };

    private static object? Index(object? target, object? index) => (target, index) switch
    {
        (UnknownValue, _) or (_, UnknownValue) => Unknown,
        (Dictionary<string, object?> map, string key) => map.TryGetValue(key, out var value) ? value : throw new InvalidOperationException($"No property {key}."),
        (List<object?> list, long i) => list[(int)i],
        _ => throw new InvalidOperationException($"Cannot index {target} with {index}."),
    };

    private sealed class UnknownValue
    {
        public override string ToString() => "<unknown>";
    }

    private sealed record DeploymentId(string Name);

    // expression := primary ( '.' name | '[' expression ']' )*
    // primary    := 'string' | integer | name '(' (expression (',' expression)*)? ')'
    private sealed class Parser(string text)
    {
        private int _at;

        public Func<ArmEvaluator, object?> ParseExpression()
        {
            var primary = ParsePrimary();
            while (true)
            {
                SkipSpace();
                if (Peek('.'))
                {
                    _at++;
                    var name = ParseName();
                    var target = primary;
                    primary = e => Member(target(e), name);
                }
                else if (Peek('['))
                {
                    _at++;
                    var index = ParseExpression();
                    Expect(']');
                    var target = primary;
                    primary = e => Index(target(e), index(e));
                }
                else
                {
                    return primary;
                }
            }
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_at != text.Length)
            {
                throw new FormatException($"Unexpected '{text[_at..]}' in [{text}].");
            }
        }

        private Func<ArmEvaluator, object?> ParsePrimary()
        {
            SkipSpace();
            if (Peek('\''))
            {
                var literal = ParseString();
                return _ => literal;
            }

            if (char.IsDigit(text[_at]) || text[_at] == '-')
            {
                var start = _at++;
                while (_at < text.Length && char.IsDigit(text[_at]))
                {
                    _at++;
                }

                var number = long.Parse(text[start.._at], CultureInfo.InvariantCulture);
                return _ => number;
            }

            var function = ParseName();
            Expect('(');
            var args = new List<Func<ArmEvaluator, object?>>();
            SkipSpace();
            if (!Peek(')'))
            {
                do
                {
                    args.Add(ParseExpression());
                    SkipSpace();
                }
                while (TryConsume(','));
            }

            Expect(')');
            if (function is "true" or "false" && args.Count == 0)
            {
                var constant = function == "true";
                return _ => constant;
            }

            // 'if' evaluates only the branch it takes, as Resource Manager does (a reference to a module that is not deployed).
            if (string.Equals(function, "if", StringComparison.OrdinalIgnoreCase))
            {
                return e => args[0](e) switch
                {
                    true => args[1](e),
                    false => args[2](e),
                    _ => Unknown,
                };
            }

            return e => e.Call(function, args.Select(a => a(e)).ToList());
        }

        private string ParseString()
        {
            var result = new StringBuilder();
            _at++;
            while (true)
            {
                if (text[_at] == '\'')
                {
                    if (_at + 1 < text.Length && text[_at + 1] == '\'')
                    {
                        result.Append('\'');
                        _at += 2;
                        continue;
                    }

                    _at++;
                    return result.ToString();
                }

                result.Append(text[_at++]);
            }
        }

        private string ParseName()
        {
            SkipSpace();
            var start = _at;
            while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] is '_' or '$' or '#'))
            {
                _at++;
            }

            return start == _at ? throw new FormatException($"Expected a name at {_at} in [{text}].") : text[start.._at];
        }

        private bool Peek(char c) => _at < text.Length && text[_at] == c;

        private bool TryConsume(char c)
        {
            SkipSpace();
            if (Peek(c))
            {
                _at++;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c))
            {
                throw new FormatException($"Expected '{c}' at {_at} in [{text}].");
            }
        }

        private void SkipSpace()
        {
            while (_at < text.Length && text[_at] == ' ')
            {
                _at++;
            }
        }
    }
}
