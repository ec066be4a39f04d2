using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data.CompiledModels.Sqlite;

namespace UserFunctions.Tests.Data;

/// <summary>
/// EF's SQLite connections are plain ones of our own (Core's <c>SqliteConnectionTuning</c>): tuned, and without the SQL
/// functions EF would register on every new connection, which only decimal arithmetic and <c>Regex</c> need.
/// </summary>
public class SqliteConnectionTests(SqliteTestDatabase database) : IClassFixture<SqliteTestDatabase>
{
    [Fact]
    public async Task EfGetsATunedConnectionWithoutItsSqlFunctions()
    {
        await using var db = database.CreateContext();
        await db.Database.OpenConnectionAsync();
        var connection = Assert.IsType<SqliteConnection>(db.Database.GetDbConnection());
        await using var command = connection.CreateCommand();

        Assert.Equal(30, connection.DefaultTimeout);
        command.CommandText = "PRAGMA busy_timeout";
        Assert.Equal(30_000L, await command.ExecuteScalarAsync());
        command.CommandText = "SELECT ef_add(1, 2)";
        var error = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteScalarAsync());
        Assert.Contains("no such function: ef_add", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheModelHasNoDecimalThatWouldNeedEfsSqlFunctions()
    {
        var decimals = SqliteUsersDbContextModel.Instance.GetEntityTypes()
            .SelectMany(entity => entity.GetProperties())
            .Where(property => (Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType) == typeof(decimal))
            .Select(property => $"{property.DeclaringType.DisplayName()}.{property.Name}");

        Assert.Empty(decimals);
    }
}
