using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using UserFunctions.Core.Data;
using UserFunctions.DevServer;

namespace UserFunctions.Tests.Api;

/// <summary>
/// The dev server's real pipeline on a TestServer, over a SQLite file of its own that the host creates and migrates at
/// start-up, exactly as it does for a developer.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiServer(WebApplication app, string databasePath)
    {
        _app = app;
        DatabasePath = databasePath;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public string DatabasePath { get; }

    /// <param name="openExistingOnly">Open the file read-write without creating it, so a missing file is an error (the 503 tests).</param>
    public static async Task<ApiServer> StartAsync(bool openExistingOnly = false)
    {
        var path = Path.Combine(Path.GetTempPath(), $"userfunctions-tests-{Guid.NewGuid():N}.db");
        if (openExistingOnly)
        {
            // Create and migrate it first; the API then must not create it again.
            await using var db = new SqliteUsersDbContext(new DbContextOptionsBuilder<SqliteUsersDbContext>().UseSqlite($"Data Source={path}").Options);
            await db.Database.MigrateAsync();
        }

        return await StartAsync(path, openExistingOnly ? $"Data Source={path};Mode=ReadWrite" : $"Data Source={path}");
    }

    private static async Task<ApiServer> StartAsync(string path, string connectionString)
    {
        var app = DevServerApp.Build([], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Users"] = connectionString,
                ["Logging:LogLevel:Default"] = "Warning",
            });
        });
        await app.StartAsync();
        return new ApiServer(app, path);
    }

    public async Task<long> CountUsersAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Users";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async Task<HttpResponseMessage> CreateAsync(string username, string email) =>
        await Client.PostAsJsonAsync("/api/users", new { username, email });

    public async Task<JsonElement> CreateUserAsync(string username, string email)
    {
        using var response = await CreateAsync(username, email);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static StringContent Json(string json, string mediaType = "application/json") => new(json, Encoding.UTF8, mediaType);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm" })
        {
            File.Delete(file);
        }
    }
}
