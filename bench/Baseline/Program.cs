using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Npgsql;

// The baseline the benchmark compares the API with: the same routes and JSON shapes, served by a minimal Kestrel app
// over raw ADO.NET: Microsoft.Data.Sqlite, or Npgsql when Database__Provider=PostgreSql (an NpgsqlDataSource, as the
// API uses, on the same connection string with the same settings added). One pooled connection and one command per request; no EF Core, no
// validation, no problem bodies beyond a bare status code. It is a yardstick, not a second implementation of the API. Its
// SQLite connections get the same settings as the API's (busy_timeout, synchronous = NORMAL), so writes compare like with like.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, BaselineJsonContext.Default));
var connectionString = builder.Configuration.GetConnectionString("Users") ?? "Data Source=users.db";
var postgres = string.Equals(builder.Configuration["Database:Provider"], "PostgreSql", StringComparison.OrdinalIgnoreCase);
await using var dataSource = postgres ? NpgsqlDataSource.Create(WithCoreConnectionSettings(connectionString)) : null;

var app = builder.Build();
var api = app.MapGroup("/api");

api.MapGet("/health", () => TypedResults.Ok(new Health("Healthy")));

api.MapGet("/users/{id}", async (string id, HttpContext context) =>
{
    if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
    {
        return Results.NotFound();
    }

    await using var connection = await OpenAsync(context.RequestAborted);
    await using var command = connection.CreateCommand();
    command.CommandText = """ SELECT "Id", "Username", "Email", "CreatedAt", "UpdatedAt", "Version" FROM "Users" WHERE "Id" = @id """;
    Add(command, "id", userId);
    await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
    if (!await reader.ReadAsync(context.RequestAborted))
    {
        return Results.NotFound();
    }

    var user = ReadUser(reader);
    context.Response.Headers.ETag = ETag(postgres ? reader.GetGuid(5) : Guid.Parse(reader.GetString(5)));
    return TypedResults.Ok(user);
});

api.MapGet("/users", async (HttpContext context) =>
{
    var limit = int.TryParse(context.Request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : 20;
    var after = int.TryParse(context.Request.Query["after"], NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 0;

    await using var connection = await OpenAsync(context.RequestAborted);
    await using var command = connection.CreateCommand();
    command.CommandText = """ SELECT "Id", "Username", "Email", "CreatedAt", "UpdatedAt" FROM "Users" WHERE "Id" > @after ORDER BY "Id" LIMIT @take """;
    Add(command, "after", after);
    Add(command, "take", limit + 1);
    var items = new List<UserDto>(limit + 1);
    await using (var reader = await command.ExecuteReaderAsync(context.RequestAborted))
    {
        while (await reader.ReadAsync(context.RequestAborted))
        {
            items.Add(ReadUser(reader));
        }
    }

    string? next = null;
    if (items.Count > limit)
    {
        items.RemoveAt(limit);
        next = string.Create(CultureInfo.InvariantCulture, $"/api/users?limit={limit}&after={items[^1].Id}");
    }

    return TypedResults.Ok(new UserPage(items, next));
});

api.MapPost("/users", async (UserRequest body, HttpContext context) =>
{
    var now = DateTime.UtcNow;
    var version = Guid.NewGuid();
    await using var connection = await OpenAsync(context.RequestAborted);
    await using var command = connection.CreateCommand();
    command.CommandText = """
        INSERT INTO "Users" ("Username", "Email", "NormalizedUsername", "NormalizedEmail", "CreatedAt", "UpdatedAt", "Version")
        VALUES (@username, @email, @normalizedUsername, @normalizedEmail, @now, @now, @version)
        RETURNING "Id"
        """;
    AddUserValues(command, body, now, version);
    var id = Convert.ToInt32(await command.ExecuteScalarAsync(context.RequestAborted), CultureInfo.InvariantCulture);

    context.Response.Headers.ETag = ETag(version);
    return TypedResults.Created($"/api/users/{id}", new UserDto(id, body.Username, body.Email, now, now));
});

api.MapPut("/users/{id}", async (string id, UserRequest body, HttpContext context) =>
{
    if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
    {
        return Results.NotFound();
    }

    var now = DateTime.UtcNow;
    var version = Guid.NewGuid();
    await using var connection = await OpenAsync(context.RequestAborted);
    await using var command = connection.CreateCommand();
    command.CommandText = """
        UPDATE "Users" SET "Username" = @username, "Email" = @email, "NormalizedUsername" = @normalizedUsername,
            "NormalizedEmail" = @normalizedEmail, "UpdatedAt" = @now, "Version" = @version
        WHERE "Id" = @id
        RETURNING "CreatedAt"
        """;
    Add(command, "id", userId);
    AddUserValues(command, body, now, version);
    DateTime createdAt;
    switch (await command.ExecuteScalarAsync(context.RequestAborted))
    {
        case string text: createdAt = ParseUtc(text); break;
        case DateTime value: createdAt = value; break;
        default: return Results.NotFound();
    }

    context.Response.Headers.ETag = ETag(version);
    return TypedResults.Ok(new UserDto(userId, body.Username, body.Email, createdAt, now));
});

// A JSON merge patch of username and/or email in one statement: the members it leaves out keep their stored values,
// which the response carries (RETURNING), with createdAt.
api.MapPatch("/users/{id}", async (string id, HttpContext context) =>
{
    if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
    {
        return Results.NotFound();
    }

    var patch = await JsonSerializer.DeserializeAsync(context.Request.Body, BaselineJsonContext.Default.UserPatch, context.RequestAborted);
    if (patch is null || (patch.Username is null && patch.Email is null))
    {
        return Results.BadRequest();
    }

    var now = DateTime.UtcNow;
    var version = Guid.NewGuid();
    await using var connection = await OpenAsync(context.RequestAborted);
    await using var command = connection.CreateCommand();
    command.CommandText = """
        UPDATE "Users" SET "Username" = COALESCE(@username, "Username"), "Email" = COALESCE(@email, "Email"),
            "NormalizedUsername" = COALESCE(@normalizedUsername, "NormalizedUsername"),
            "NormalizedEmail" = COALESCE(@normalizedEmail, "NormalizedEmail"), "UpdatedAt" = @now, "Version" = @version
        WHERE "Id" = @id
        RETURNING "Username", "Email", "CreatedAt"
        """;
    Add(command, "id", userId);
    Add(command, "username", (object?)patch.Username ?? DBNull.Value);
    Add(command, "email", (object?)patch.Email ?? DBNull.Value);
    Add(command, "normalizedUsername", (object?)patch.Username?.ToUpperInvariant() ?? DBNull.Value);
    Add(command, "normalizedEmail", (object?)patch.Email?.ToUpperInvariant() ?? DBNull.Value);
    Add(command, "now", now);
    Add(command, "version", postgres ? version : VersionText(version));
    await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
    if (!await reader.ReadAsync(context.RequestAborted))
    {
        return Results.NotFound();
    }

    var createdAt = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc);
    context.Response.Headers.ETag = ETag(version);
    return TypedResults.Ok(new UserDto(userId, reader.GetString(0), reader.GetString(1), createdAt, now));
});

await app.RunAsync();

// The same per-connection settings as the API's SQLite connections (Core's SqliteConnectionTuning), applied once per
// native connection, so that both servers write with the same durability and lock waiting.
async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
{
    if (dataSource is not null)
    {
        return await dataSource.OpenConnectionAsync(cancellationToken);
    }

    var connection = new SqliteConnection(connectionString);
    await connection.OpenAsync(cancellationToken);
    if (!Tuned.Connections.TryGetValue(connection.Handle!, out _))
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        Tuned.Connections.AddOrUpdate(connection.Handle!, Tuned.Connections);
    }

    return connection;
}

// The written columns of a create or a replace, as EF writes them on this provider.
void AddUserValues(DbCommand command, UserRequest body, DateTime now, Guid version)
{
    Add(command, "username", body.Username);
    Add(command, "email", body.Email);
    Add(command, "normalizedUsername", body.Username.ToUpperInvariant());
    Add(command, "normalizedEmail", body.Email.ToUpperInvariant());
    Add(command, "now", now);
    Add(command, "version", postgres ? version : VersionText(version));
}

static void Add(DbCommand command, string name, object value)
{
    var parameter = command.CreateParameter();
    parameter.ParameterName = name;
    parameter.Value = value;
    command.Parameters.Add(parameter);
}

static UserDto ReadUser(DbDataReader reader) => new(
    reader.GetInt32(0),
    reader.GetString(1),
    reader.GetString(2),
    DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc),
    DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc));

static DateTime ParseUtc(string text) =>
    DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

// The connection settings Core adds to a PostgreSQL connection string that sets none of them (DatabaseOptions): no session
// reset on every return to the pool, each statement prepared once per connection. The same work per request as the API's.
static string WithCoreConnectionSettings(string connectionString)
{
    var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
    var settings = new NpgsqlConnectionStringBuilder(connectionString);
    if (!given.ContainsKey("No Reset On Close"))
    {
        settings.NoResetOnClose = true;
    }

    if (!given.ContainsKey("Max Auto Prepare"))
    {
        settings.MaxAutoPrepare = 32;
    }

    return settings.ConnectionString;
}

// EF Core stores a Guid on SQLite as upper-case text; the baseline keeps the same format so both databases look alike.
static string VersionText(Guid version) => version.ToString("D").ToUpperInvariant();

static string ETag(Guid version) => $"\"{version:N}\"";

internal static class Tuned
{
    public static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Connections = [];
}

internal sealed record UserDto(int Id, string Username, string Email, DateTime CreatedAt, DateTime UpdatedAt);

internal sealed record UserPage(IReadOnlyList<UserDto> Items, string? Next);

internal sealed record UserRequest(string Username, string Email);

internal sealed record UserPatch(string? Username, string? Email);

internal sealed record Health(string Status);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UserDto))]
[JsonSerializable(typeof(UserPage))]
[JsonSerializable(typeof(UserRequest))]
[JsonSerializable(typeof(UserPatch))]
[JsonSerializable(typeof(Health))]
internal sealed partial class BaselineJsonContext : JsonSerializerContext;
