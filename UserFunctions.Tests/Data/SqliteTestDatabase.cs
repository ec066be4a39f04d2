using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data;

namespace UserFunctions.Tests.Data;

/// <summary>A migrated in-memory SQLite database that lives as long as its kept-open connection.</summary>
public sealed class SqliteTestDatabase : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public SqliteTestDatabase()
    {
        _connection.Open();
        using var db = CreateContext();
        db.Database.Migrate();
    }

    public SqliteUsersDbContext CreateContext() =>
        new(new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite(_connection).Options);

    public void Dispose() => _connection.Dispose();
}
