using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.EntityFrameworkCore.Storage;

// EF marks the processor experimental (EF9100): see the remarks below.
#pragma warning disable EF9100

namespace UserFunctions.Core.Data;

/// <summary>
/// Compiles each query's shaper once, not once per execution. Since EF Core 9 a query's executor is one expression tree
/// with its shaper (and command resolver) as lambdas inside it; the expression compiler turns such a nested lambda into a
/// delegate built with <c>DynamicMethod.CreateDelegate</c> every time the executor runs: about 4.5 µs and 160 bytes of
/// every query (measured, see docs/performance.md). A nested lambda that uses nothing of the lambdas around it is
/// compiled on its own here and embedded as a constant, as EF Core 8 did.
/// </summary>
/// <remarks>
/// EF marks the hook experimental (EF9100); <c>HoistedShapersTests</c> fails if a provider stops using the relational
/// processor this replaces. Removing the registration costs only the time above.
/// </remarks>
internal static class HoistedShapers
{
    public static DbContextOptionsBuilder Use(DbContextOptionsBuilder options) =>
        options.ReplaceService<ILiftableConstantProcessor, Processor>();

    /// <summary>Replaces each closed lambda nested in <paramref name="executor"/> with its compiled delegate.</summary>
    internal static Expression Hoist(Expression executor) => new Hoister().Visit(executor);

    internal sealed class Processor(
        ShapedQueryCompilingExpressionVisitorDependencies dependencies,
        RelationalShapedQueryCompilingExpressionVisitorDependencies relationalDependencies,
        RelationalCommandBuilderDependencies commandBuilderDependencies)
        : RelationalLiftableConstantProcessor(dependencies, relationalDependencies, commandBuilderDependencies)
    {
        public override Expression InlineConstants(Expression expression, bool supportsPrecompiledQuery) =>
            Hoist(base.InlineConstants(expression, supportsPrecompiledQuery));
    }

    private sealed class Hoister : ExpressionVisitor
    {
        private int _depth;

        protected override Expression VisitLambda<T>(Expression<T> node)
        {
            _depth++;
            try
            {
                var visited = (LambdaExpression)base.VisitLambda(node);
                return _depth == 1 || UsesOuterVariables(visited) ? visited : Expression.Constant(visited.Compile(), visited.Type);
            }
            finally
            {
                _depth--;
            }
        }

        // A quoted lambda is an expression tree the code reads, not a delegate it calls.
        protected override Expression VisitUnary(UnaryExpression node) =>
            node.NodeType == ExpressionType.Quote ? node : base.VisitUnary(node);
    }

    private static bool UsesOuterVariables(LambdaExpression lambda)
    {
        var finder = new OuterVariableFinder();
        finder.Visit(lambda);
        return finder.Found;
    }

    /// <summary>Finds a parameter or variable that no lambda, block or catch inside the visited tree declares.</summary>
    private sealed class OuterVariableFinder : ExpressionVisitor
    {
        private readonly List<IEnumerable<ParameterExpression>> _scopes = [];

        public bool Found { get; private set; }

        protected override Expression VisitLambda<T>(Expression<T> node) => InScope(node.Parameters, () => Visit(node.Body), node);

        protected override Expression VisitBlock(BlockExpression node) => InScope(node.Variables, () => Visit(node.Expressions), node);

        protected override CatchBlock VisitCatchBlock(CatchBlock node) =>
            InScope(node.Variable is null ? [] : [node.Variable], () => { Visit(node.Filter); Visit(node.Body); }, node);

        protected override Expression VisitParameter(ParameterExpression node)
        {
            Found |= !_scopes.Exists(scope => scope.Contains(node));
            return node;
        }

        private TNode InScope<TNode>(IEnumerable<ParameterExpression> declared, Action visit, TNode node)
        {
            _scopes.Add(declared);
            visit();
            _scopes.RemoveAt(_scopes.Count - 1);
            return node;
        }
    }
}
