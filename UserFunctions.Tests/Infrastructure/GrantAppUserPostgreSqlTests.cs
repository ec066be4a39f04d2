using System.Diagnostics;
using System.Text.RegularExpressions;
using Npgsql;
using UserFunctions.Tests.Data;

namespace UserFunctions.Tests.Infrastructure;

/// <summary>
/// deploy/grant-app-user-postgresql.sh (and the two SQL files it runs with psql) against a real, migrated PostgreSQL
/// database. Azure's <c>pgaadauth_create_principal_with_oid</c> does not exist outside Azure: a stand-in in the test
/// database creates a plain login role the way it would (a role of that name, no other attribute), with a password so
/// the test can sign in as the app. What it cannot show: that Azure maps the role to the Entra object id.
/// </summary>
public sealed class GrantAppUserPostgreSqlTests(PostgreSqlTestDatabase database) : IClassFixture<PostgreSqlTestDatabase>, IAsyncLifetime
{
    private const string StandInPassword = "stand-in-for-an-entra-token";

    private readonly string _role = $"id-api-{Guid.NewGuid():N}"[..20];
    private readonly string _objectId = Guid.NewGuid().ToString();

    public async Task InitializeAsync()
    {
        await database.EmptyAsync();
        await ExecuteAsAdminAsync($"""
            CREATE OR REPLACE FUNCTION pgaadauth_create_principal_with_oid(rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean)
            RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', rolename, '{StandInPassword}');
                EXECUTE format('COMMENT ON ROLE %I IS %L', rolename, objecttype || ':' || objectid || ':' || isadmin || ':' || ismfa);
                RETURN 'Created role for ' || rolename;
            END $$
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task TheScriptCreatesTheRoleOnceByObjectIdAndReRunsWithoutChanges()
    {
        var first = await RunGrantScriptAsync();
        var second = await RunGrantScriptAsync();

        Assert.Contains("Created role for " + _role, first, StringComparison.Ordinal);
        Assert.Contains($"Role \"{_role}\" already exists.", second, StringComparison.Ordinal);
        Assert.Equal($"service:{_objectId}:false:false", await ScalarAsAdminAsync<string>($"SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '{_role}'"));
    }

    [Fact]
    public async Task TheAppRoleIsALoginWithNoOtherAttributeOrMembership()
    {
        await RunGrantScriptAsync();

        Assert.Equal("t f f f f f", await ScalarAsAdminAsync<string>(
            $"SELECT concat_ws(' ', rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls) FROM pg_roles WHERE rolname = '{_role}'"));
        Assert.Equal(0L, await ScalarAsAdminAsync<long>(
            $"SELECT COUNT(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = '{_role}'"));
        // Nothing it could hand on to others.
        Assert.Equal(0L, await ScalarAsAdminAsync<long>(
            $"SELECT COUNT(*) FROM information_schema.role_table_grants WHERE grantee = '{_role}' AND is_grantable = 'YES'"));
    }

    [Fact]
    public async Task TheAppCanReadAndWriteRows()
    {
        await RunGrantScriptAsync();
        await using var app = await OpenAsAppAsync();

        await ExecuteAsync(app, """
            INSERT INTO "Users" ("Username", "NormalizedUsername", "Email", "NormalizedEmail", "CreatedAt", "UpdatedAt", "Version")
            VALUES ('john_doe', 'JOHN_DOE', 'john@example.com', 'JOHN@EXAMPLE.COM', now(), now(), gen_random_uuid())
            """);
        await ExecuteAsync(app, """UPDATE "Users" SET "Email" = 'jane@example.com' WHERE "Username" = 'john_doe'""");
        await ExecuteAsync(app, """SELECT * FROM "Users" """);
        await ExecuteAsync(app, """DELETE FROM "Users" WHERE "Username" = 'john_doe'""");
        await ExecuteAsync(app, """SELECT * FROM "IdempotencyKeys" """);
    }

    [Theory]
    [InlineData("""CREATE TABLE "Sneaky" ("Id" int)""")]
    [InlineData("""ALTER TABLE "Users" ADD COLUMN "Sneaky" int""")]
    [InlineData("""DROP TABLE "IdempotencyKeys" """)]
    [InlineData("""TRUNCATE "Users" """)]
    [InlineData("""CREATE INDEX "IX_Sneaky" ON "Users" ("Email")""")]
    [InlineData("""CREATE SCHEMA sneaky""")]
    public async Task TheAppCannotChangeTheSchema(string sql)
    {
        await RunGrantScriptAsync();
        await using var app = await OpenAsAppAsync();

        var exception = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(app, sql));

        Assert.True(exception.SqlState is PostgresErrorCodes.InsufficientPrivilege, $"{exception.SqlState}: {exception.MessageText}");
    }

    [Fact]
    public void TheRunnerSuppliesEveryVariableTheScriptsUseAndStopsOnTheFirstError()
    {
        var runner = File.ReadAllText(RepositoryRoot.Combine("deploy", "grant-app-user-postgresql.sh"));
        var variables = new[] { "create-app-role.sql", "grant-app-user.sql" }
            .SelectMany(f => Regex.Matches(File.ReadAllText(RepositoryRoot.Combine("deploy", "postgresql", f)), @":['""]?(\w+)['""]?").Select(m => m.Groups[1].Value))
            .Where(v => v is not ("DBNAME" or "create_app_role")) // psql's own, and the script's \gset result
            .Distinct()
            .Order();

        Assert.Equal(["app_object_id", "app_role"], variables);
        Assert.Contains("--set app_role=", runner, StringComparison.Ordinal);
        Assert.Contains("--set app_object_id=", runner, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Count(runner, "--set ON_ERROR_STOP=1"));
    }

    private async Task<string> RunGrantScriptAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        var start = new ProcessStartInfo("bash", [RepositoryRoot.Combine("deploy", "grant-app-user-postgresql.sh"), admin.Host!, admin.Database!, _role, _objectId, admin.Username!])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["PATH"] = $"{PsqlDirectory()}:{Environment.GetEnvironmentVariable("PATH")}";
        start.Environment["PGPASSWORD"] = admin.Password;
        start.Environment["PGPORT"] = admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGSSLMODE"] = "disable";
        // The stand-in lives in the test's own database, not in the cluster's shared postgres database.
        start.Environment["POSTGRES_MAINTENANCE_DATABASE"] = admin.Database;

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"grant-app-user-postgresql.sh exited with {process.ExitCode}:\n{stdout}\n{await stderr}");
        return stdout;
    }

    private static string PsqlDirectory() =>
        new[] { Environment.GetEnvironmentVariable("PG_BIN") }
            .Concat(Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(v => int.TryParse(Path.GetFileName(v), out var n) ? n : 0).Select(v => Path.Combine(v, "bin"))
                : [])
            .FirstOrDefault(bin => bin is not null && File.Exists(Path.Combine(bin, "psql")))
            ?? throw new InvalidOperationException("No psql in $PG_BIN or /usr/lib/postgresql/*/bin: apt-get install -y postgresql.");

    private async Task<NpgsqlConnection> OpenAsAppAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            Username = _role,
            Password = StandInPassword,
            Pooling = false,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task ExecuteAsAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, sql);
    }

    private async Task<T> ScalarAsAdminAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
