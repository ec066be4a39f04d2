using System.Text.RegularExpressions;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace UserFunctions.Tests.Infrastructure;

// deploy/azuresql/grant-app-user.sql, parsed as Azure SQL would after sqlcmd substitutes its variables.
public partial class GrantAppUserAzureSqlTests
{
    private const string IdentityName = "id-api-abc123";

    private static readonly string ScriptPath = RepositoryRoot.Combine("deploy", "azuresql", "grant-app-user.sql");

    [Fact]
    public void TheScriptParsesWithoutErrorsOnceItsVariablesAreSubstituted()
    {
        var (_, errors) = Parse();

        Assert.Empty(errors.Select(e => $"line {e.Line}: {e.Message}"));
    }

    [Fact]
    public void TheScriptUsesOnlyTheAppIdentityNameVariable()
    {
        var variables = SqlcmdVariable().Matches(File.ReadAllText(ScriptPath)).Select(m => m.Groups[1].Value).Distinct();

        Assert.Equal(["AppIdentityName"], variables);
    }

    [Fact]
    public void TheGrantRunnerSuppliesTheAppIdentityNameVariable()
    {
        var runner = File.ReadAllText(RepositoryRoot.Combine("deploy", "grant-app-user-azuresql.sh"));

        Assert.Contains("-v \"AppIdentityName=", runner, StringComparison.Ordinal);
        Assert.Contains("deploy/azuresql/grant-app-user.sql", runner, StringComparison.Ordinal);
    }

    [Fact]
    public void TheScriptCreatesAContainedEntraUserForTheAppIdentity()
    {
        var statements = Statements();
        var createUser = Assert.Single(statements.CreateUsers);

        Assert.Equal(IdentityName, createUser.Statement.Name.Value);
        Assert.Equal(UserLoginOptionType.External, createUser.Statement.UserLoginOption?.UserLoginOptionType);
    }

    [Fact]
    public void TheScriptAddsTheAppIdentityToDataReaderAndDataWriterOnly()
    {
        var statements = Statements();
        var memberships = statements.RoleChanges
            .Select(c => (Role: c.Statement.Name.Value, Member: (c.Statement.Action as AddMemberAlterRoleAction)?.Member.Value))
            .OrderBy(m => m.Role, StringComparer.Ordinal);

        Assert.Equal([("db_datareader", IdentityName), ("db_datawriter", IdentityName)], memberships);
    }

    [Fact]
    public void TheScriptGrantsNoPermissionDirectly()
    {
        var statements = Statements();
        var (fragment, _) = Parse();
        var code = string.Concat(fragment.ScriptTokenStream
            .Where(t => t.TokenType is not (TSqlTokenType.SingleLineComment or TSqlTokenType.MultilineComment))
            .Select(t => t.Text));

        Assert.Empty(statements.PermissionStatements);
        Assert.DoesNotMatch(ForbiddenWords(), code);
    }

    [Fact]
    public void EveryChangeIsGuardedByAnExistenceCheckSoTheScriptCanRunAgain()
    {
        var statements = Statements();

        Assert.All(statements.CreateUsers, c => Assert.True(c.Guarded, "CREATE USER must sit under IF NOT EXISTS."));
        Assert.All(statements.RoleChanges, c => Assert.True(c.Guarded, $"ALTER ROLE {c.Statement.Name.Value} must sit under IF NOT EXISTS."));
    }

    private static (TSqlFragment Fragment, IList<ParseError> Errors) Parse()
    {
        var sql = File.ReadAllText(ScriptPath).Replace("$(AppIdentityName)", IdentityName, StringComparison.Ordinal);
        using var reader = new StringReader(sql);
        var fragment = new TSql160Parser(initialQuotedIdentifiers: true).Parse(reader, out var errors);
        return (fragment, errors);
    }

    private static StatementCollector Statements()
    {
        var (fragment, errors) = Parse();
        Assert.Empty(errors);
        var collector = new StatementCollector();
        fragment.Accept(collector);
        return collector;
    }

    [GeneratedRegex(@"\$\((\w+)\)")]
    private static partial Regex SqlcmdVariable();

    // Roles and permissions beyond reading and writing rows.
    [GeneratedRegex(@"db_owner|db_ddladmin|db_securityadmin|db_accessadmin|db_backupoperator|\bCONTROL\b|\bGRANT\b|\bIMPERSONATE\b|\bALTER\s+(ANY|SCHEMA|AUTHORIZATION|USER)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ForbiddenWords();

    private sealed record Change<T>(T Statement, bool Guarded);

    private sealed class StatementCollector : TSqlFragmentVisitor
    {
        private int _existenceGuards;

        public List<Change<CreateUserStatement>> CreateUsers { get; } = [];

        public List<Change<AlterRoleStatement>> RoleChanges { get; } = [];

        public List<TSqlStatement> PermissionStatements { get; } = [];

        public override void ExplicitVisit(IfStatement node)
        {
            var guard = new ExistsFinder();
            node.Predicate.Accept(guard);
            node.Predicate.Accept(this);
            if (guard.Found)
            {
                _existenceGuards++;
            }

            node.ThenStatement.Accept(this);
            if (guard.Found)
            {
                _existenceGuards--;
            }

            node.ElseStatement?.Accept(this);
        }

        public override void Visit(CreateUserStatement node) => CreateUsers.Add(new(node, _existenceGuards > 0));

        public override void Visit(AlterRoleStatement node) => RoleChanges.Add(new(node, _existenceGuards > 0));

        public override void Visit(GrantStatement node) => PermissionStatements.Add(node);

        public override void Visit(DenyStatement node) => PermissionStatements.Add(node);

        public override void Visit(RevokeStatement node) => PermissionStatements.Add(node);

        public override void Visit(AlterAuthorizationStatement node) => PermissionStatements.Add(node);

        public override void Visit(AlterUserStatement node) => PermissionStatements.Add(node);
    }

    private sealed class ExistsFinder : TSqlFragmentVisitor
    {
        public bool Found { get; private set; }

        public override void Visit(ExistsPredicate node) => Found = true;
    }
}
