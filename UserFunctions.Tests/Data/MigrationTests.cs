using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.SqlServer.TransactSql.ScriptDom;
using Npgsql;
using UserFunctions.Core.Data;
using UserFunctions.Migrations;
using UserFunctions.Tests.Infrastructure;

namespace UserFunctions.Tests.Data;

public class MigrationTests
{
    [Fact]
    public async Task MigratingAnEmptyPostgreSqlDatabaseCreatesTheUsersTableAndItsUniqueIndexes()
    {
        var connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("migrations");
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
        DataServiceCollectionExtensions.UsePostgreSql(options, new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionString = connectionString });
        await using var db = new PostgreSqlUsersDbContext(options.Options);

        await db.Database.MigrateAsync();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'Users' AND indexdef LIKE 'CREATE UNIQUE INDEX%' AND indexname <> 'PK_Users' ORDER BY indexname",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var uniqueIndexes = new List<string>();
        while (await reader.ReadAsync())
        {
            uniqueIndexes.Add(reader.GetString(0));
        }

        Assert.Equal(["IX_Users_NormalizedEmail", "IX_Users_NormalizedUsername"], uniqueIndexes);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
    }

    [Theory]
    [InlineData(typeof(SqliteUsersDbContext), "Sqlite")]
    [InlineData(typeof(SqlServerUsersDbContext), "SqlServer")]
    [InlineData(typeof(PostgreSqlUsersDbContext), "PostgreSql")]
    public void EachProvidersModelSnapshotLivesBesideItsMigrations(Type context, string provider)
    {
        var snapshots = Directory.GetFiles(RepositoryRoot.Combine("UserFunctions.Migrations"), $"{context.Name}ModelSnapshot.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(path => Path.GetRelativePath(RepositoryRoot.Path, path).Replace('\\', '/'));

        Assert.Equal([$"UserFunctions.Migrations/{provider}/{context.Name}ModelSnapshot.cs"], snapshots);
    }

    [Fact]
    public void PostgreSqlMigrationsMatchTheModel()
    {
        using var db = new PostgreSqlDesignTimeFactory().CreateDbContext([]);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a PostgreSQL migration: run `dotnet ef migrations add`.");
    }

    [Fact]
    public void MigratingAnEmptySqliteDatabaseCreatesTheUsersTableAndItsUniqueIndexes()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var db = new SqliteUsersDbContext(new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite(connection, sqlite => sqlite.MigrationsAssembly(UsersMigrations.AssemblyName)).Options);

        db.Database.Migrate();

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE tbl_name = 'Users' AND sql LIKE 'CREATE UNIQUE INDEX%' ORDER BY name";
        using var reader = command.ExecuteReader();
        var uniqueIndexes = new List<string>();
        while (reader.Read())
        {
            uniqueIndexes.Add(reader.GetString(0));
        }

        Assert.Equal(["IX_Users_NormalizedEmail", "IX_Users_NormalizedUsername"], uniqueIndexes);
        Assert.Empty(db.Database.GetPendingMigrations());
    }

    [Fact]
    public void SqliteMigrationsMatchTheModel()
    {
        using var db = new SqliteDesignTimeFactory().CreateDbContext([]);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a SQLite migration: run `dotnet ef migrations add`.");
    }

    [Fact]
    public void SqlServerMigrationsMatchTheModel()
    {
        using var db = new SqlServerDesignTimeFactory().CreateDbContext([]);

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a SQL Server migration: run `dotnet ef migrations add`.");
    }

    [Fact]
    public void SqlServerMigrationsHaveTheContractsColumnSizes()
    {
        using var db = new SqlServerDesignTimeFactory().CreateDbContext([]);
        var users = db.Model.FindEntityType(typeof(Core.Users.User))!;

        Assert.Equal("nvarchar(80)", users.FindProperty("Username")!.GetColumnType());
        Assert.Equal("nvarchar(120)", users.FindProperty("Email")!.GetColumnType());
    }

    [Fact]
    public void TheIdempotentSqlServerScriptParsesAsTransactSql()
    {
        using var db = new SqlServerDesignTimeFactory().CreateDbContext([]);
        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        parser.Parse(new StringReader(script), out var errors);

        Assert.Contains("IF NOT EXISTS", script, StringComparison.Ordinal);
        Assert.Contains("CREATE UNIQUE INDEX [IX_Users_NormalizedUsername]", script, StringComparison.Ordinal);
        Assert.Empty(errors.Select(e => $"line {e.Line}: {e.Message}"));
    }
}
