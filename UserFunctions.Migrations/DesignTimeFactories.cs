using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using UserFunctions.Core.Data;

namespace UserFunctions.Migrations;

// Used by `dotnet ef` (migrations add/script, bundles) so the tools need no host and no database.
// A bundle replaces the connection string with its --connection argument.

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteUsersDbContext>
{
    public SqliteUsersDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<SqliteUsersDbContext>();
        DataServiceCollectionExtensions.UseSqlite(options, new DatabaseOptions());
        return new SqliteUsersDbContext(options.Options);
    }
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerUsersDbContext>
{
    // Real migrations (an index on a big table) outlast the 30 s default; EF_COMMAND_TIMEOUT_SECONDS overrides. PostgreSQL's too.
    private const int DefaultMigrationCommandTimeoutSeconds = 600;

    public SqlServerUsersDbContext CreateDbContext(string[] args)
    {
        var settings = new DatabaseOptions
        {
            Provider = DatabaseProvider.SqlServer,
            ConnectionString = "Server=tcp:localhost,1433;Database=Users;Encrypt=True",
            CommandTimeoutSeconds = MigrationCommandTimeoutSeconds(),
        };
        var options = new DbContextOptionsBuilder<SqlServerUsersDbContext>();
        DataServiceCollectionExtensions.UseSqlServer(options, settings);
        return new SqlServerUsersDbContext(options.Options);
    }

    internal static int MigrationCommandTimeoutSeconds() =>
        int.TryParse(Environment.GetEnvironmentVariable("EF_COMMAND_TIMEOUT_SECONDS"), out var seconds) && seconds > 0
            ? seconds
            : DefaultMigrationCommandTimeoutSeconds;
}

internal sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlUsersDbContext>
{
    public PostgreSqlUsersDbContext CreateDbContext(string[] args)
    {
        var settings = new DatabaseOptions
        {
            Provider = DatabaseProvider.PostgreSql,
            ConnectionString = "Host=localhost;Database=users",
            CommandTimeoutSeconds = SqlServerDesignTimeFactory.MigrationCommandTimeoutSeconds(),
        };
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
        DataServiceCollectionExtensions.UsePostgreSql(options, settings);
        return new PostgreSqlUsersDbContext(options.Options);
    }
}
