using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core.Data;
using UserFunctions.Core.Data.CompiledModels.PostgreSql;
using UserFunctions.Core.Data.CompiledModels.Sqlite;
using UserFunctions.Core.Data.CompiledModels.SqlServer;
using UserFunctions.Migrations;

namespace UserFunctions.Tests.Data;

/// <summary>
/// The app runs on EF's compiled models (Data/CompiledModels) to skip model building at start-up. These tests fail when the
/// code's model moves on without them: run `dotnet ef dbcontext optimize` for the context named in the failure.
/// </summary>
public class CompiledModelTests
{
    [Fact]
    public void TheSqliteCompiledModelMatchesTheModelTheCodeBuilds()
    {
        using var fromCode = new SqliteDesignTimeFactory().CreateDbContext([]);
        using var compiled = new SqliteUsersDbContext(new DbContextOptionsBuilder<SqliteUsersDbContext>()
            .UseSqlite("Data Source=:memory:").UseModel(SqliteUsersDbContextModel.Instance).Options);

        AssertSameModel(fromCode, compiled);
    }

    [Fact]
    public void TheSqlServerCompiledModelMatchesTheModelTheCodeBuilds()
    {
        using var fromCode = new SqlServerDesignTimeFactory().CreateDbContext([]);
        using var compiled = new SqlServerUsersDbContext(new DbContextOptionsBuilder<SqlServerUsersDbContext>()
            .UseSqlServer("Server=tcp:localhost;Database=Users").UseModel(SqlServerUsersDbContextModel.Instance).Options);

        AssertSameModel(fromCode, compiled);
    }

    [Fact]
    public void ThePostgreSqlCompiledModelMatchesTheModelTheCodeBuilds()
    {
        using var fromCode = new PostgreSqlDesignTimeFactory().CreateDbContext([]);
        using var compiled = new PostgreSqlUsersDbContext(new DbContextOptionsBuilder<PostgreSqlUsersDbContext>()
            .UseNpgsql("Host=localhost;Database=users").UseModel(PostgreSqlUsersDbContextModel.Instance).Options);

        AssertSameModel(fromCode, compiled);
    }

    [Fact]
    public void TheRegisteredContextUsesTheCompiledModel()
    {
        using var services = new ServiceCollection().AddUsersData(new ConfigurationBuilder().Build()).BuildServiceProvider();
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

        Assert.IsType<SqliteUsersDbContextModel>(db.Model);
    }

    [Fact]
    public void TheRegisteredPostgreSqlContextUsesTheCompiledModel()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = "Host=localhost;Database=users;Username=app;Password=not-a-real-password",
        }).Build();
        using var services = new ServiceCollection().AddUsersData(configuration).BuildServiceProvider();
        using var scope = services.CreateScope();

        Assert.IsType<PostgreSqlUsersDbContextModel>(scope.ServiceProvider.GetRequiredService<UsersDbContext>().Model);
    }

    private static void AssertSameModel(DbContext fromCode, DbContext compiled)
    {
        var codeModel = fromCode.GetService<IDesignTimeModel>().Model;
        var context = compiled.GetType().Name;

        Assert.True(
            Signature(codeModel) == Signature(compiled.Model),
            $"The compiled model of {context} is stale: run `bash deploy/add-migration.sh` (see AddUsersData).");
    }

    private static string Signature(IModel model) => string.Join('\n', model.GetEntityTypes().OrderBy(e => e.Name).SelectMany(entity =>
        new[] { $"entity {entity.Name} table {entity.GetTableName()}" }
            .Concat(entity.GetProperties().OrderBy(p => p.Name).Select(p =>
                $"  property {p.Name} {p.ClrType.Name} nullable={p.IsNullable} max={p.GetMaxLength()} column={p.GetColumnType()} " +
                $"token={p.IsConcurrencyToken} generated={p.ValueGenerated} afterSave={p.GetAfterSaveBehavior()} converter={p.GetValueConverter()?.GetType().Name}"))
            .Concat(entity.GetKeys().Select(k => $"  key {string.Join(',', k.Properties.Select(p => p.Name))} primary={k.IsPrimaryKey()}"))
            .Concat(entity.GetIndexes().OrderBy(i => i.GetDatabaseName()).Select(i =>
                $"  index {i.GetDatabaseName()} {string.Join(',', i.Properties.Select(p => p.Name))} unique={i.IsUnique}"))));
}
