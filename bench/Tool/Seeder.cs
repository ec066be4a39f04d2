using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// Creates the benchmark database: the schema from the API's own migrations, then users 1..N inserted through EF Core
/// (so GUID and DateTime columns have exactly EF's formats) in one transaction. SQLite: a file; PostgreSQL: an existing,
/// empty database named by a connection string.
/// </summary>
internal static class Seeder
{
    private const int BatchSize = 1000;

    public static int Run(string path, int count, TextWriter output)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ToString();
        var options = new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(UsersMigrations.AssemblyName)).Options;
        using (var db = new SqliteUsersDbContext(options))
        {
            if (!Fill(db, count))
            {
                return 1;
            }

            // Both servers run in WAL mode (the API sets it at start-up; the baseline inherits it from the file).
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode = 'wal';");
            db.Database.ExecuteSqlRaw("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        SqliteConnection.ClearAllPools();
        output.WriteLine($"seed: {count} users in {path} ({stopwatch.ElapsedMilliseconds} ms)");
        return 0;
    }

    public static int RunPostgreSql(string connectionString, int count, TextWriter output)
    {
        var stopwatch = Stopwatch.StartNew();
        var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>().UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(UsersMigrations.AssemblyName)).Options;
        using (var db = new PostgreSqlUsersDbContext(options))
        {
            if (!Fill(db, count))
            {
                return 1;
            }

            db.Database.ExecuteSqlRaw("VACUUM ANALYZE;");
        }

        NpgsqlConnection.ClearAllPools();
        output.WriteLine($"seed: {count} users in PostgreSQL database {new NpgsqlConnectionStringBuilder(connectionString).Database} ({stopwatch.ElapsedMilliseconds} ms)");
        return 0;
    }

    private static bool Fill(UsersDbContext db, int count)
    {
        db.Database.Migrate();
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        using (var transaction = db.Database.BeginTransaction())
        {
            var createdAt = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
            for (var first = 1; first <= count; first += BatchSize)
            {
                for (var i = first; i < first + BatchSize && i <= count; i++)
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"user{i:D6}");
                    db.Users.Add(User.Create(new UserRequest(name, name + "@example.com"), createdAt.AddSeconds(i)));
                }

                db.SaveChanges();
                db.ChangeTracker.Clear();
            }

            transaction.Commit();
        }

        var users = db.Users.Count();
        var maxId = db.Users.Max(u => u.Id);
        if (users != count || maxId != count)
        {
            Console.Error.WriteLine($"seed: expected ids 1..{count}, found {users} users up to id {maxId}");
            return false;
        }

        return true;
    }
}
