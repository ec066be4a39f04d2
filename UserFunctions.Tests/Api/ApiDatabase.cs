using Microsoft.Data.Sqlite;

namespace UserFunctions.Tests.Api;

/// <summary>The database behind an API host, which tests reach directly to count rows and to break things for real.</summary>
public abstract class ApiDatabase : IAsyncDisposable
{
    /// <summary>The settings that point a host at this database, in configuration-key form (<c>Database:Provider</c>).</summary>
    public abstract IReadOnlyDictionary<string, string?> HostSettings { get; }

    public abstract Task<long> CountUsersAsync();

    public abstract Task ExecuteSqlAsync(string sql);

    /// <summary>Empties the table between tests that share a host.</summary>
    public Task DeleteAllUsersAsync() => ExecuteSqlAsync("DELETE FROM \"Users\"");

    /// <summary>Makes the database unreachable for the host until the returned value is disposed.</summary>
    public abstract Task<IAsyncDisposable> TakeOfflineAsync();

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// A SQLite file of its own. The file starts empty and the host migrates it at start-up, as it does for a developer; it
/// is opened with <c>Mode=ReadWrite</c>, so once the file is moved away the host fails instead of creating a new one.
/// </summary>
/// <param name="pooling">False for a host in another process: the test cannot clear that process's pool before it moves the file.</param>
public sealed class SqliteApiDatabase(bool pooling) : ApiDatabase
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"userfunctions-tests-{Guid.NewGuid():N}.db");
    private bool _created;

    public override IReadOnlyDictionary<string, string?> HostSettings
    {
        get
        {
            if (!_created)
            {
                File.WriteAllBytes(_path, []);
                _created = true;
            }

            return new Dictionary<string, string?>
            {
                ["Database:Provider"] = "Sqlite",
                ["ConnectionStrings:Users"] = $"Data Source={_path};Mode=ReadWrite" + (pooling ? "" : ";Pooling=False"),
            };
        }
    }

    public override async Task<long> CountUsersAsync()
    {
        await using var connection = await OpenAsync("Mode=ReadOnly");
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Users";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = await OpenAsync("Mode=ReadWrite");
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override Task<IAsyncDisposable> TakeOfflineAsync()
    {
        SqliteConnection.ClearAllPools();
        var hidden = _path + ".hidden";
        File.Move(_path, hidden);
        return Task.FromResult<IAsyncDisposable>(new Restore(() => File.Move(hidden, _path)));
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm", _path + ".hidden" })
        {
            File.Delete(file);
        }

        return ValueTask.CompletedTask;
    }

    private async Task<SqliteConnection> OpenAsync(string mode)
    {
        var connection = new SqliteConnection($"Data Source={_path};{mode};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private sealed class Restore(Action restore) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            restore();
            return ValueTask.CompletedTask;
        }
    }
}
