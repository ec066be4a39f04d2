using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using UserFunctions.Core;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// One server with the same read served several ways, to split the API's cost per request into its layers (bench/probe.sh):
/// <list type="bullet">
/// <item><c>/api/...</c>: Core itself (<c>AddUsersApi</c>, <c>MapUsersApi</c>), without the dev server's exception and status-code middleware.</item>
/// <item><c>/probe/ado/{id}</c>: raw Microsoft.Data.Sqlite, like bench/Baseline.</item>
/// <item><c>/probe/ado-with-context/{id}</c>: the same, in a handler that also leases Core's pooled context.</item>
/// <item><c>/probe/ef-compiled/{id}</c>: Core's pooled context and a compiled query of the same shape as Core's, nothing else.</item>
/// <item><c>/probe/ef-compiled-closing/{id}</c>: the same on a pooled context with EF's defaults (no Core interceptor): EF
/// creates its own connection on every lease and registers its SQL functions on it.</item>
/// <item><c>/probe/ef-linq/{id}</c>: the same query, not compiled.</item>
/// <item><c>/probe/ef-connection-raw/{id}</c>: Core's pooled context and EF's connection, but a plain command and reader.</item>
/// <item><c>/probe/ef-list-compiled</c>: Core's list query (first page, 21 rows), compiled.</item>
/// <item><c>PUT /probe/put-execute-update/{id}</c>: PUT as a compiled read plus one guarded ExecuteUpdate (Core's PUT before it
/// became one statement; Core's PUT with If-Match still reads first).</item>
/// <item><c>PUT /probe/put-update-only/{id}</c>: the write alone, one unguarded ExecuteUpdate and no read: the floor of a
/// one-statement PUT through EF (its response lacks the stored CreatedAt, which EF cannot read back from an ExecuteUpdate).</item>
/// <item><c>POST /probe/post-ef-insert</c>: a create as one tracked SaveChanges on Core's pooled context, nothing else
/// of Core's POST (no key, no verification): the floor of a create through EF.</item>
/// <item><c>POST /probe/post-ado</c>: the same create as one raw INSERT … RETURNING.</item>
/// <item><c>PUT /probe/put-ado/{id}</c>: a PUT as one raw UPDATE … RETURNING, as bench/Baseline's.</item>
/// </list>
/// </summary>
internal static class Probe
{
    private static readonly Func<UsersDbContext, int, CancellationToken, Task<ProbeUser?>> FindById =
        EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
            .AsNoTracking()
            .Where(u => u.Id == id)
            .Select(u => new ProbeUser(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt, u.Version))
            .FirstOrDefault());

    private static readonly Func<UsersDbContext, int, CancellationToken, Task<CurrentVersion?>> FindVersion =
        EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
            .AsNoTracking()
            .Where(u => u.Id == id)
            .Select(u => new CurrentVersion(u.Version, u.CreatedAt))
            .FirstOrDefault());

    private static readonly Func<UsersDbContext, int, int, IAsyncEnumerable<UserResponse>> ListPage =
        EF.CompileAsyncQuery((UsersDbContext db, int afterId, int take) => db.Users
            .AsNoTracking()
            .Where(u => u.Id > afterId)
            .OrderBy(u => u.Id)
            .Take(take)
            .Select(u => new UserResponse(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt)));

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("probe: expected <port> <database file>");
            return 2;
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = args[1] }.ToString();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{args[0]}");
        builder.Configuration["ConnectionStrings:Users"] = connectionString;
        builder.Configuration["Database:MigrateOnStartup"] = "false";
        builder.Services.AddUsersApi(builder.Configuration);
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ProbeJsonContext.Default));

        var app = builder.Build();
        app.MapUsersApi();

        var closingFactory = new PooledDbContextFactory<SqliteUsersDbContext>(new DbContextOptionsBuilder<SqliteUsersDbContext>()
            .UseSqlite(connectionString).UseModel(UserFunctions.Core.Data.CompiledModels.Sqlite.SqliteUsersDbContextModel.Instance).Options);
        app.MapGet("/probe/ef-compiled-closing/{id}", async (string id, HttpContext context) =>
        {
            await using var db = await closingFactory.CreateDbContextAsync(context.RequestAborted);
            return int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
                && await FindById(db, userId, context.RequestAborted) is { } found
                    ? Found(context, found)
                    : Results.NotFound();
        });

        app.MapGet("/probe/ado/{id}", (string id, HttpContext context) => AdoAsync(connectionString, id, context));

        // Raw ADO.NET as above, but the handler also leases Core's pooled context from DI (and never uses it).
        app.MapGet("/probe/ado-with-context/{id}", (string id, HttpContext context, UsersDbContext db) => AdoAsync(connectionString, id, context));

        app.MapGet("/probe/ef-compiled/{id}", async (string id, HttpContext context, UsersDbContext db) =>
            int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
            && await FindById(db, userId, context.RequestAborted) is { } found
                ? Found(context, found)
                : Results.NotFound());

        // EF's pooled context and its open connection (EF registers its SQLite functions on every open), then a plain command.
        app.MapGet("/probe/ef-connection-raw/{id}", async (string id, HttpContext context, UsersDbContext db) =>
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            {
                return Results.NotFound();
            }

            await db.Database.OpenConnectionAsync(context.RequestAborted);
            try
            {
                await using var command = db.Database.GetDbConnection().CreateCommand();
                command.CommandText = "SELECT Id, Username, Email, CreatedAt, UpdatedAt, Version FROM Users WHERE Id = $id";
                var parameter = command.CreateParameter();
                parameter.ParameterName = "$id";
                parameter.Value = userId;
                command.Parameters.Add(parameter);
                await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
                return await reader.ReadAsync(context.RequestAborted)
                    ? Found(context, new ProbeUser(
                        reader.GetInt32(0), reader.GetString(1), reader.GetString(2),
                        DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc), DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc),
                        Guid.Parse(reader.GetString(5))))
                    : Results.NotFound();
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });

        app.MapGet("/probe/ef-linq/{id}", async (string id, HttpContext context, UsersDbContext db) =>
            int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
            && await db.Users.AsNoTracking().Where(u => u.Id == userId)
                .Select(u => new ProbeUser(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt, u.Version))
                .FirstOrDefaultAsync(context.RequestAborted) is { } found
                ? Found(context, found)
                : Results.NotFound());

        app.MapGet("/probe/ef-list-compiled", async (HttpContext context, UsersDbContext db) =>
        {
            var items = new List<UserResponse>(21);
            await foreach (var user in ListPage(db, 0, 21).WithCancellation(context.RequestAborted))
            {
                items.Add(user);
            }

            items.RemoveAt(20);
            return TypedResults.Ok(new UserPage(items, "/api/users?limit=20&cursor=" + PageCursor.Encode(items[^1].Id)));
        });

        // PUT without If-Match as a compiled no-tracking read of (Version, CreatedAt) plus one UPDATE guarded by that
        // version (ExecuteUpdate): the same rules as Core's load-then-SaveChanges, without tracking.
        app.MapPut("/probe/put-execute-update/{id}", async (string id, UserRequest body, HttpContext context, UsersDbContext db, TimeProvider clock) =>
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            {
                return Results.NotFound();
            }

            if (!UserValidation.TryValidate(body, out var input, out var errors))
            {
                return Results.ValidationProblem(errors);
            }

            for (var attempt = 1; attempt <= 3; attempt++)
            {
                if (await FindVersion(db, userId, context.RequestAborted) is not { } current)
                {
                    return Results.NotFound();
                }

                var now = clock.GetUtcNow().UtcDateTime;
                var version = Guid.NewGuid();
                var normalizedUsername = User.Normalize(input.Username!);
                var normalizedEmail = User.Normalize(input.Email!);
                var updated = await db.Users
                    .Where(u => u.Id == userId && u.Version == current.Version)
                    .ExecuteUpdateAsync(
                        setters => setters
                            .SetProperty(u => u.Username, input.Username)
                            .SetProperty(u => u.NormalizedUsername, normalizedUsername)
                            .SetProperty(u => u.Email, input.Email)
                            .SetProperty(u => u.NormalizedEmail, normalizedEmail)
                            .SetProperty(u => u.UpdatedAt, now)
                            .SetProperty(u => u.Version, version),
                        context.RequestAborted);
                if (updated == 1)
                {
                    context.Response.Headers.ETag = $"\"{version:N}\"";
                    return TypedResults.Ok(new UserResponse(userId, input.Username!, input.Email!, current.CreatedAt, now));
                }
            }

            return Results.Conflict();
        });

        app.MapPut("/probe/put-update-only/{id}", async (string id, UserRequest body, HttpContext context, UsersDbContext db, TimeProvider clock) =>
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            {
                return Results.NotFound();
            }

            if (!UserValidation.TryValidate(body, out var input, out var errors))
            {
                return Results.ValidationProblem(errors);
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var version = Guid.NewGuid();
            var normalizedUsername = User.Normalize(input.Username!);
            var normalizedEmail = User.Normalize(input.Email!);
            var updated = await db.Users
                .Where(u => u.Id == userId)
                .ExecuteUpdateAsync(
                    setters => setters
                        .SetProperty(u => u.Username, input.Username)
                        .SetProperty(u => u.NormalizedUsername, normalizedUsername)
                        .SetProperty(u => u.Email, input.Email)
                        .SetProperty(u => u.NormalizedEmail, normalizedEmail)
                        .SetProperty(u => u.UpdatedAt, now)
                        .SetProperty(u => u.Version, version),
                    context.RequestAborted);
            if (updated == 0)
            {
                return Results.NotFound();
            }

            context.Response.Headers.ETag = $"\"{version:N}\"";
            return TypedResults.Ok(new UserResponse(userId, input.Username!, input.Email!, default, now));
        });

        // POST as Core's write without Core: a pooled context, a new tracked User, one SaveChanges (INSERT … RETURNING), no
        // Idempotency-Key, no verification after a lost reply: the floor of a create through EF.
        app.MapPost("/probe/post-ef-insert", async (UserRequest body, HttpContext context, UsersDbContext db, TimeProvider clock) =>
        {
            if (!UserValidation.TryValidate(body, out var input, out var errors))
            {
                return Results.ValidationProblem(errors);
            }

            var user = User.Create(input, clock.GetUtcNow().UtcDateTime);
            db.Users.Add(user);
            await db.SaveChangesAsync(context.RequestAborted);
            context.Response.Headers.ETag = $"\"{user.Version:N}\"";
            return TypedResults.Created($"/api/users/{user.Id}", new UserResponse(user.Id, user.Username, user.Email, user.CreatedAt, user.UpdatedAt));
        });

        // The same create over raw Microsoft.Data.Sqlite, in the same process: one INSERT … RETURNING "Id".
        app.MapPost("/probe/post-ado", async (UserRequest body, HttpContext context, TimeProvider clock) =>
        {
            if (!UserValidation.TryValidate(body, out var input, out var errors))
            {
                return Results.ValidationProblem(errors);
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var version = Guid.NewGuid();
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(context.RequestAborted);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO "Users" ("Username", "Email", "NormalizedUsername", "NormalizedEmail", "CreatedAt", "UpdatedAt", "Version")
                VALUES ($username, $email, $normalizedUsername, $normalizedEmail, $now, $now, $version)
                RETURNING "Id"
                """;
            command.Parameters.AddWithValue("$username", input.Username);
            command.Parameters.AddWithValue("$email", input.Email);
            command.Parameters.AddWithValue("$normalizedUsername", User.Normalize(input.Username!));
            command.Parameters.AddWithValue("$normalizedEmail", User.Normalize(input.Email!));
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$version", version.ToString().ToUpperInvariant());
            var id = Convert.ToInt32(await command.ExecuteScalarAsync(context.RequestAborted), CultureInfo.InvariantCulture);
            context.Response.Headers.ETag = $"\"{version:N}\"";
            return TypedResults.Created($"/api/users/{id}", new UserResponse(id, input.Username!, input.Email!, now, now));
        });

        // PUT over raw Microsoft.Data.Sqlite, in the same process: one UPDATE … RETURNING "CreatedAt", bench/Baseline's PUT.
        app.MapPut("/probe/put-ado/{id}", async (string id, UserRequest body, HttpContext context, TimeProvider clock) =>
        {
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            {
                return Results.NotFound();
            }

            if (!UserValidation.TryValidate(body, out var input, out var errors))
            {
                return Results.ValidationProblem(errors);
            }

            var now = clock.GetUtcNow().UtcDateTime;
            var version = Guid.NewGuid();
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(context.RequestAborted);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE "Users" SET "Username" = $username, "Email" = $email, "NormalizedUsername" = $normalizedUsername,
                    "NormalizedEmail" = $normalizedEmail, "UpdatedAt" = $now, "Version" = $version
                WHERE "Id" = $id
                RETURNING "CreatedAt"
                """;
            command.Parameters.AddWithValue("$username", input.Username);
            command.Parameters.AddWithValue("$email", input.Email);
            command.Parameters.AddWithValue("$normalizedUsername", User.Normalize(input.Username!));
            command.Parameters.AddWithValue("$normalizedEmail", User.Normalize(input.Email!));
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$version", version.ToString().ToUpperInvariant());
            command.Parameters.AddWithValue("$id", userId);
            if (await command.ExecuteScalarAsync(context.RequestAborted) is not string createdAt)
            {
                return Results.NotFound();
            }

            context.Response.Headers.ETag = $"\"{version:N}\"";
            return TypedResults.Ok(new UserResponse(
                userId, input.Username!, input.Email!, DateTime.Parse(createdAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), now));
        });

        await app.RunAsync();
        return 0;
    }

    private static async Task<IResult> AdoAsync(string connectionString, string id, HttpContext context)
    {
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
        {
            return Results.NotFound();
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(context.RequestAborted);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Id, Username, Email, CreatedAt, UpdatedAt, Version FROM Users WHERE Id = $id";
        command.Parameters.AddWithValue("$id", userId);
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        if (!await reader.ReadAsync(context.RequestAborted))
        {
            return Results.NotFound();
        }

        var user = new UserResponse(
            reader.GetInt32(0), reader.GetString(1), reader.GetString(2),
            DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc), DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc));
        context.Response.Headers.ETag = $"\"{Guid.Parse(reader.GetString(5)):N}\"";
        return TypedResults.Ok(user);
    }

    private static Ok<UserResponse> Found(HttpContext context, ProbeUser found)
    {
        context.Response.Headers.ETag = $"\"{found.Version:N}\"";
        return TypedResults.Ok(new UserResponse(found.Id, found.Username, found.Email, found.CreatedAt, found.UpdatedAt));
    }
}

internal sealed record CurrentVersion(Guid Version, DateTime CreatedAt);

internal sealed record ProbeUser(int Id, string Username, string Email, DateTime CreatedAt, DateTime UpdatedAt, Guid Version);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(UserPage))]
[JsonSerializable(typeof(UserRequest))]
internal sealed partial class ProbeJsonContext : JsonSerializerContext;
