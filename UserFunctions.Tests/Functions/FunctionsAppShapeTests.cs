using System.Reflection;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using UserFunctions.Core;
using UserFunctions.Core.Docs;
using UserFunctions.Core.Health;
using UserFunctions.Core.OpenApi;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Functions;

/// <summary>
/// What the running app cannot show (FunctionsHostTests and the dual-host HTTP suite check routes, methods, keys and
/// behaviour): that the app stays hosting only, and the settings that matter in Azure but not under the test host.
/// </summary>
public class FunctionsAppShapeTests
{
    private static readonly FunctionsApp App = FunctionsApp.Load();

    public static TheoryData<string> OperationNames()
    {
        var data = new TheoryData<string>();
        foreach (var operation in ApiOperations.All)
        {
            data.Add(operation.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(OperationNames))]
    public void EveryFunctionIsOneCallToTheCoreHandlerOfTheSameName(string operation)
    {
        var function = App.Single(operation);

        var call = FunctionsApp.SingleCall(function.Method);

        Assert.True(call is not null, $"{operation}: the body must be a single call into Core, nothing else.");
        var target = Assert.IsType<MemberAccessExpressionSyntax>(call.Expression);
        Assert.Equal(operation, target.Name.Identifier.Text);
        Assert.EndsWith("Api", FunctionsApp.LastIdentifier(target.Expression), StringComparison.Ordinal);
        Assert.All(call.ArgumentList.Arguments, argument => Assert.True(
            FunctionsApp.IsPlainReference(argument.Expression),
            $"{operation}: pass inputs straight through; '{argument}' is logic, which belongs in Core."));
    }

    [Fact]
    public void TheAppHoldsFunctionClassesAndItsTwoMiddlewaresAndNothingElse()
    {
        var middleware = App.Types
            .Where(t => t.BaseList?.Types.Any(b => FunctionsApp.LastIdentifier(b.Type) == "IFunctionsWorkerMiddleware") == true)
            .ToList();
        var notFunctions = App.Types.Except(middleware)
            .Where(t => t.Members.OfType<MethodDeclarationSyntax>().Any(m => !FunctionsApp.Attributes(m.AttributeLists, "Function").Any()))
            .Select(t => t.Identifier.Text);

        // One ties invocations to requests and maps failures; one asks Core's ApiAuthorization (Entra ID mode); one drops the
        // health check's invocation span (Core's HealthTracing).
        Assert.Equal(["ApiAuthorizationMiddleware", "HttpInvocationMiddleware", "UntracedHealthMiddleware"], middleware.Select(t => t.Identifier.Text).Order());
        Assert.Empty(notFunctions);
    }

    [Fact]
    public void WorkerTelemetryIsOpenTelemetryJoiningTheHostsTraceWithoutTheApplicationInsightsSdk()
    {
        Assert.Contains("AddApiTelemetry", App.ProgramCalls);
        Assert.Contains("UseFunctionsWorkerDefaults", App.ProgramCalls);
        Assert.Contains("Microsoft.Azure.Functions.Worker.OpenTelemetry", App.Project.PackageReferences);
        Assert.DoesNotContain(App.Project.PackageReferences, package => package.Contains("ApplicationInsights", StringComparison.Ordinal));
    }

    [Fact]
    public void TheFunctionsAppNeverCreatesOrMigratesTheDatabase()
    {
        string[] forbidden = ["Migrate", "MigrateAsync", "EnsureCreated", "EnsureCreatedAsync"];

        Assert.Empty(App.AllCalls.Intersect(forbidden, StringComparer.Ordinal));
    }

    [Fact]
    public void ProjectKeepsCultureDataBecauseSqlClientRejectsInvariantGlobalization()
    {
        var buildProps = XDocument.Load(Path.Combine(App.Root, "Directory.Build.props"));

        Assert.NotEqual("true", App.Project.Property("InvariantGlobalization")?.Trim().ToLowerInvariant());
        Assert.DoesNotContain(buildProps.Descendants(), e => e.Name.LocalName == "InvariantGlobalization" && e.Value.Trim() == "true");
    }

    [Fact]
    public void ProjectNeverPublishesLocalSettings()
    {
        var localSettings = App.Project.Items("None").Concat(App.Project.Items("Content"))
            .Where(i => string.Equals(i.Update ?? i.Include, "local.settings.json", StringComparison.OrdinalIgnoreCase))
            .ToList();

        var item = Assert.Single(localSettings);
        Assert.Equal("Never", item.Metadata("CopyToPublishDirectory"));
    }

    [Fact]
    public void LocalSettingsSampleRunsTheIsolatedWorkerAgainstAzurite()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(App.Root, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values");

        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        Assert.Equal("UseDevelopmentStorage=true", values.GetProperty("AzureWebJobsStorage").GetString());
    }

    [Fact]
    public void LocalSettingsSampleValuesAreAllStringsAsCoreToolsRequires()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(App.Root, "local.settings.sample.json")));

        var notStrings = sample.RootElement.GetProperty("Values").EnumerateObject()
            .Where(p => p.Value.ValueKind != JsonValueKind.String)
            .Select(p => p.Name);

        Assert.Empty(notStrings);
    }

    [Fact]
    public void GitIgnoresLocalSettings()
    {
        var patterns = File.ReadAllLines(Path.Combine(App.Root, ".gitignore"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith('!'))
            .Select(line => line.TrimStart('/').Replace("**/", "", StringComparison.Ordinal));

        Assert.Contains(patterns, p => p is "local.settings.json" or "UserFunctions/local.settings.json");
    }

}

/// <summary>What the tests read from UserFunctions/: its C# syntax trees and its MSBuild files.</summary>
internal sealed class FunctionsApp
{
    private FunctionsApp(string root, IReadOnlyList<TypeDeclarationSyntax> types, IReadOnlyList<Function> functions, IReadOnlyList<string> programCalls,
        IReadOnlyList<string> allCalls, MsBuildFile project, MsBuildFile buildProps, MsBuildFile packagesProps)
    {
        Root = root;
        Types = types;
        Functions = functions;
        ProgramCalls = programCalls;
        AllCalls = allCalls;
        Project = project;
        BuildProps = buildProps;
        PackagesProps = packagesProps;
    }

    public string Root { get; }
    public IReadOnlyList<TypeDeclarationSyntax> Types { get; }
    public IReadOnlyList<Function> Functions { get; }
    public IReadOnlyList<string> ProgramCalls { get; }
    public IReadOnlyList<string> AllCalls { get; }
    public MsBuildFile Project { get; }
    public MsBuildFile BuildProps { get; }
    public MsBuildFile PackagesProps { get; }

    public static FunctionsApp Load()
    {
        var root = FindRoot();
        var folder = Path.Combine(root, "UserFunctions");
        var trees = Directory.GetFiles(folder, "*.cs", SearchOption.TopDirectoryOnly)
            .Order(StringComparer.Ordinal)
            .Select(path => CSharpSyntaxTree.ParseText(File.ReadAllText(path), path: path))
            .ToList();

        var errors = trees.SelectMany(t => t.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"UserFunctions/*.cs does not parse: {string.Join("; ", errors)}");
        }

        var program = trees.SingleOrDefault(t => Path.GetFileName(t.FilePath) == "Program.cs")
            ?? throw new InvalidOperationException("UserFunctions/Program.cs is missing.");

        var functions = trees
            .SelectMany(t => t.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>())
            .Where(m => Attributes(m.AttributeLists, "Function").Any())
            .Select(Function.From)
            .ToList();

        return new FunctionsApp(
            root,
            [.. trees.SelectMany(t => t.GetRoot().DescendantNodes().OfType<TypeDeclarationSyntax>())],
            functions,
            CallNames(program.GetRoot()),
            [.. trees.SelectMany(t => CallNames(t.GetRoot()))],
            MsBuildFile.Load(Path.Combine(folder, "UserFunctions.csproj")),
            MsBuildFile.Load(Path.Combine(root, "Directory.Build.props")),
            MsBuildFile.Load(Path.Combine(root, "Directory.Packages.props")));
    }

    public Function Single(string operation)
    {
        var matches = Functions.Where(f => f.Name == operation).ToList();
        return matches.Count == 1
            ? matches[0]
            : throw new InvalidOperationException(
                $"Expected one [Function(UserOperations.{operation})] in UserFunctions/*.cs, found {matches.Count}.");
    }

    /// <summary>The one invocation a method body consists of (expression-bodied or a lone return), or null.</summary>
    public static InvocationExpressionSyntax? SingleCall(MethodDeclarationSyntax method)
    {
        var expression = method.ExpressionBody?.Expression
            ?? (method.Body?.Statements is [ReturnStatementSyntax { Expression: { } returned }] ? returned : null);

        while (expression is AwaitExpressionSyntax or ParenthesizedExpressionSyntax)
        {
            expression = expression switch
            {
                AwaitExpressionSyntax awaited => awaited.Expression,
                ParenthesizedExpressionSyntax parenthesized => parenthesized.Expression,
                _ => expression,
            };
        }

        return expression as InvocationExpressionSyntax;
    }

    /// <summary>A name, or a chain of member accesses on one (<c>request.HttpContext.RequestAborted</c>).</summary>
    public static bool IsPlainReference(ExpressionSyntax expression) => expression switch
    {
        IdentifierNameSyntax or ThisExpressionSyntax => true,
        MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression } access => IsPlainReference(access.Expression),
        _ => false,
    };

    public static string LastIdentifier(SyntaxNode node) => node switch
    {
        MemberAccessExpressionSyntax access => access.Name.Identifier.Text,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.Text,
        AliasQualifiedNameSyntax aliased => aliased.Name.Identifier.Text,
        SimpleNameSyntax simple => simple.Identifier.Text,
        _ => node.ToString(),
    };

    public static IEnumerable<AttributeSyntax> Attributes(SyntaxList<AttributeListSyntax> lists, string name) =>
        lists.SelectMany(l => l.Attributes).Where(a => LastIdentifier(a.Name) == name || LastIdentifier(a.Name) == name + "Attribute");

    /// <summary>The value of <c>Type.Constant</c> when <paramref name="expression"/> names a string constant of that type.</summary>
    public static string? Constant(ExpressionSyntax expression, params Type[] types) =>
        expression is MemberAccessExpressionSyntax access
            && types.FirstOrDefault(t => t.Name == LastIdentifier(access.Expression)) is { } type
            && type.GetField(access.Name.Identifier.Text, BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
            ? field.GetRawConstantValue() as string
            : null;

    /// <summary>Where the Functions app's attributes take their constants from: each feature's names and routes.</summary>
    public static readonly Type[] ConstantHolders = [typeof(UserOperations), typeof(UserRoutes), typeof(HealthApi), typeof(OpenApiDocumentApi), typeof(DocsApi)];

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "UserFunctions.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No UserFunctions.sln above {AppContext.BaseDirectory}.");
    }

    private static List<string> CallNames(SyntaxNode root) =>
        [.. root.DescendantNodes().OfType<InvocationExpressionSyntax>().Select(call => LastIdentifier(call.Expression))];
}

/// <summary>A [Function] method as written: the operation it names and its HTTP trigger.</summary>
internal sealed record Function(string? Name, string NameArgument, HttpTrigger Trigger, MethodDeclarationSyntax Method)
{
    public static Function From(MethodDeclarationSyntax method)
    {
        var attribute = FunctionsApp.Attributes(method.AttributeLists, "Function").Single();
        var argument = attribute.ArgumentList?.Arguments.FirstOrDefault()?.Expression;

        return new Function(NameOf(argument), argument?.ToString() ?? "", HttpTrigger.Of(method), method);
    }

    public string Describe() =>
        $"[Function({NameArgument})] {Method.Identifier.Text} in {Path.GetFileName(Method.SyntaxTree.FilePath)}";

    // UserOperations.X (its constant's value) or nameof(...) (the last name in it); anything else names no operation.
    private static string? NameOf(ExpressionSyntax? argument) => argument switch
    {
        InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.Text: "nameof" } } call
            when call.ArgumentList.Arguments.Count == 1 => FunctionsApp.LastIdentifier(call.ArgumentList.Arguments[0].Expression),
        MemberAccessExpressionSyntax access => FunctionsApp.Constant(access, FunctionsApp.ConstantHolders),
        _ => null,
    };
}

/// <summary>The arguments of a function's <c>[HttpTrigger]</c>: level, methods and route (resolved through UserRoutes).</summary>
internal sealed record HttpTrigger(string? AuthorizationLevel, IReadOnlyList<string> Methods, string? Route)
{
    public static HttpTrigger Of(MethodDeclarationSyntax method)
    {
        var triggers = method.ParameterList.Parameters
            .SelectMany(p => FunctionsApp.Attributes(p.AttributeLists, "HttpTrigger"))
            .ToList();
        if (triggers.Count != 1)
        {
            return new HttpTrigger(null, [], null);
        }

        var arguments = triggers[0].ArgumentList?.Arguments ?? default;
        var positional = arguments.Where(a => a.NameEquals is null && a.NameColon is null).Select(a => a.Expression).ToList();
        var level = positional.OfType<MemberAccessExpressionSyntax>()
            .FirstOrDefault(a => FunctionsApp.LastIdentifier(a.Expression) == "AuthorizationLevel")?.Name.Identifier.Text;
        var methods = positional.OfType<LiteralExpressionSyntax>()
            .Where(l => l.IsKind(SyntaxKind.StringLiteralExpression))
            .Select(l => l.Token.ValueText)
            .ToList();
        var route = arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == "Route")?.Expression;

        return new HttpTrigger(level, methods, route is null ? null : FunctionsApp.Constant(route, FunctionsApp.ConstantHolders));
    }
}

/// <summary>An MSBuild file read as XML: properties and items, metadata as attributes or child elements.</summary>
internal sealed class MsBuildFile(string path, XDocument document)
{
    public string Directory { get; } = Path.GetDirectoryName(path)!;

    public static MsBuildFile Load(string path) => new(path, XDocument.Load(path));

    public IReadOnlyList<string> PackageReferences => [.. Items("PackageReference").Select(i => i.Include)];

    public string? Property(string name) =>
        document.Root!.Elements("PropertyGroup").Where(g => g.Attribute("Condition") is null)
            .Elements(name).Select(e => e.Value.Trim()).LastOrDefault();

    public IEnumerable<MsBuildItem> Items(string type) =>
        document.Root!.Elements("ItemGroup").Elements(type).Select(e => new MsBuildItem(e));

    /// <summary>True when <paramref name="include"/>, relative to this file, is <paramref name="file"/> in <paramref name="folder"/>.</summary>
    public bool Resolves(string include, string folder, string file) =>
        string.Equals(
            Path.GetFullPath(Path.Combine(Directory, include.Replace('\\', Path.DirectorySeparatorChar))),
            Path.GetFullPath(Path.Combine(folder, file)),
            StringComparison.Ordinal);
}

internal sealed class MsBuildItem(XElement element)
{
    public string Include { get; } = element.Attribute("Include")?.Value ?? "";

    public string? Update { get; } = element.Attribute("Update")?.Value;

    public string? Metadata(string name) => element.Attribute(name)?.Value ?? element.Element(name)?.Value.Trim();
}
