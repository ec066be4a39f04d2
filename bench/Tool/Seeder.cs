using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// Creates the benchmark database: the schema from the API's own migrations, then users 1..N inserted through EF Core
/// (so GUID and DateTime columns have exactly EF's SQLite text formats) in one transaction.
/// </summary>
internal static class Seeder
{
    private const int BatchSize = 1000;

    public static int Run(string path, int count)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
        var options = new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite(connectionString).Options;
        using (var db = new SqliteUsersDbContext(options))
        {
            db.Database.Migrate();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            using var transaction = db.Database.BeginTransaction();
            var createdAt = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
            for (var first = 1; first <= count; first += BatchSize)
            {
                for (var i = first; i < first + BatchSize && i <= count; i++)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"user{i:D6}");
                    db.Users.Add(User.Create(name, name + "@example.com", createdAt.AddSeconds(i)));
                }

                db.SaveChanges();
                db.ChangeTracker.Clear();
            }

            transaction.Commit();

            // Both servers run in WAL mode (the API sets it at start-up; the baseline inherits it from the file).
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode = 'wal';");
            db.Database.ExecuteSqlRaw("PRAGMA wal_checkpoint(TRUNCATE);");
            var users = db.Users.Count();
            var maxId = db.Users.Max(u => u.Id);
            if (users != count || maxId != count)
            {
                Console.Error.WriteLine($"seed: expected ids 1..{count}, found {users} users up to id {maxId}");
                return 1;
            }
        }

        SqliteConnection.ClearAllPools();
        Console.WriteLine($"seed: {count} users in {path} ({stopwatch.ElapsedMilliseconds} ms)");
        return 0;
    }
}
