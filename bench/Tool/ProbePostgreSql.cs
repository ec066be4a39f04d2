using System.Data.Common;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using UserFunctions.Core;
using UserFunctions.Core.Data;
using UserFunctions.Core.Data.CompiledModels.PostgreSql;
using UserFunctions.Core.Users;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// bench/probe.sh's server on PostgreSQL (<c>--database postgresql</c>): the benchmark's private cluster (<see cref="BenchPostgres"/>),
/// and GET by id served several ways in one process, to split the API's cost into layers and to try one connection setting
/// at a time:
/// <list type="bullet">
/// <item><c>/api/...</c>: Core itself (<c>AddUsersApi</c>, <c>MapUsersApi</c>) with its own PostgreSQL settings.</item>
/// <item><c>/probe/ef-compiled/{id}</c>: Core's pooled context and a compiled query of the same shape as Core's, nothing else.</item>
/// <item><c>/probe/ef-linq/{id}</c>: the same query, not compiled.</item>
/// <item><c>/probe/ef-connection-raw/{id}</c>: Core's pooled context and EF's connection, but a plain command and reader.</item>
/// <item><c>/probe/ado-with-context/{id}</c>: raw Npgsql as below, in a handler that also leases Core's pooled context.</item>
/// <item><c>/probe/ado/{id}</c>: raw Npgsql exactly as bench/Baseline reads: an <see cref="NpgsqlDataSource"/> on the
/// connection string, one command and reader per request.</item>
/// <item><c>/probe/ef-{variant}/{id}</c>: the compiled query over a pooled context factory configured as Core configures its
/// context (<see cref="Variant"/>), with one thing changed, and <c>/probe/ado-{variant}/{id}</c> the raw read on that
/// variant's data source.</item>
/// </list>
/// </summary>
internal static class ProbePostgreSql
{
    private const string SelectById = """SELECT "Id", "Username", "Email", "CreatedAt", "UpdatedAt", "Version" FROM "Users" WHERE "Id" = @id""";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("probe-postgresql: expected <port> <file for the postmaster's pid>");
            return 2;
        }

        var postgres = await BenchPostgres.StartAsync(10000, Console.Error);
        var connectionString = await postgres.CopyOfSeedAsync("users_probe");
        await File.WriteAllTextAsync(args[1], postgres.Postmaster.ToString(CultureInfo.InvariantCulture));

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{args[0]}");
        builder.Configuration["Database:Provider"] = "PostgreSql";
        builder.Configuration["ConnectionStrings:Users"] = connectionString;
        builder.Configuration["Database:MigrateOnStartup"] = "false";
        builder.Services.AddUsersApi(builder.Configuration);
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ProbeJsonContext.Default));

        var app = builder.Build();
        app.MapUsersApi();

        // Core's connection string as its data source got it: the one configured, with the connection settings Core adds.
        var coreConnectionString = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString;

        // bench/Baseline's way: a data source of its own, on the connection string with the same settings.
        await using var baselineSource = NpgsqlDataSource.Create(coreConnectionString);
        app.MapGet("/probe/ado/{id}", (string id, HttpContext context) => AdoAsync(baselineSource, id, context));
        app.MapGet("/probe/ado-with-context/{id}", (string id, HttpContext context, UsersDbContext db) => AdoAsync(baselineSource, id, context));

        var coreFindById = CompileFindById();
        app.MapGet("/probe/ef-compiled/{id}", (string id, HttpContext context, UsersDbContext db) => EfAsync(coreFindById, db, id, context));

        app.MapGet("/probe/ef-linq/{id}", async (string id, HttpContext context, UsersDbContext db) =>
            int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
            && await db.Users.AsNoTracking().Where(u => u.Id == userId)
                .Select(u => new ProbeUser(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt, u.Version))
                .FirstOrDefaultAsync(context.RequestAborted) is { } found
                ? Found(context, found)
                : Results.NotFound());

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
                return await ReadAsync(command, userId, context);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });

        var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        var coreSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        Variant[] variants =
        [
            new("as-core", coreSource),
            new("no-retry", coreSource, Retrying: false),
            // The retrying strategy kept, the read run inside its ExecuteAsync: retried whole, so EF need not buffer the row.
            new("in-strategy", coreSource, InStrategy: true),
            new("no-logging", coreSource, LoggerFactory: false),
            new("connection-string", null),
            // Npgsql's own defaults, which Core overrides unless the connection string sets them: a session reset on every
            // return to the pool, no prepared statements. Given in the connection string, as a user would.
            new("npgsql-defaults", WithSettings(connectionString, "No Reset On Close=false;Max Auto Prepare=0")),
            new("npgsql-defaults-no-retry", WithSettings(connectionString, "No Reset On Close=false;Max Auto Prepare=0"), Retrying: false),
            new("reset", WithSettings(coreConnectionString, "No Reset On Close=false")),
            new("unprepared", WithSettings(coreConnectionString, "Max Auto Prepare=0")),
        ];
        foreach (var variant in variants)
        {
            var factory = variant.Factory(coreConnectionString, loggerFactory);
            var findById = CompileFindById();
            app.MapGet($"/probe/ef-{variant.Name}/{{id}}", async (string id, HttpContext context) =>
            {
                await using var db = await factory.CreateDbContextAsync(context.RequestAborted);
                return variant.InStrategy
                    ? await db.Database.CreateExecutionStrategy().ExecuteAsync(
                        (FindById: findById, Db: db, Id: id, Context: context),
                        static (state, _) => EfAsync(state.FindById, state.Db, state.Id, state.Context),
                        context.RequestAborted)
                    : await EfAsync(findById, db, id, context);
            });
            if (variant.Source is { } source && source != coreSource)
            {
                app.MapGet($"/probe/ado-{variant.Name}/{{id}}", (string id, HttpContext context) => AdoAsync(source, id, context));
            }
        }

        await app.RunAsync();
        foreach (var variant in variants)
        {
            if (variant.Source is { } source && source != coreSource)
            {
                await source.DisposeAsync();
            }
        }

        return 0;
    }

    /// <summary>A context configured as Core's PostgreSQL context (its data source, compiled model, a retrying execution strategy) but for what the variant changes.</summary>
    private sealed record Variant(string Name, NpgsqlDataSource? Source, bool Retrying = true, bool LoggerFactory = true, bool InStrategy = false)
    {
        public PooledDbContextFactory<PostgreSqlUsersDbContext> Factory(string connectionString, ILoggerFactory loggerFactory)
        {
            void Configure(Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder npgsql)
            {
                npgsql.CommandTimeout(30);
                if (Retrying)
                {
                    npgsql.EnableRetryOnFailure(3, TimeSpan.FromSeconds(5), errorCodesToAdd: null);
                }
            }

            var options = new DbContextOptionsBuilder<PostgreSqlUsersDbContext>();
            _ = Source is null ? options.UseNpgsql(connectionString, Configure) : options.UseNpgsql(Source, Configure);
            options.UseModel(PostgreSqlUsersDbContextModel.Instance);
            if (LoggerFactory)
            {
                options.UseLoggerFactory(loggerFactory);
            }

            return new PooledDbContextFactory<PostgreSqlUsersDbContext>(options.Options);
        }
    }

    private static NpgsqlDataSource WithSettings(string connectionString, string settings) =>
        NpgsqlDataSource.Create(connectionString + ";" + settings);

    // One compiled query per context configuration: EF compiles it at its first execution for that context's options
    // (whether it buffers the result follows the execution strategy) and keeps that.
    private static Func<UsersDbContext, int, CancellationToken, Task<ProbeUser?>> CompileFindById() =>
        EF.CompileAsyncQuery((UsersDbContext db, int id, CancellationToken _) => db.Users
            .AsNoTracking()
            .Where(u => u.Id == id)
            .Select(u => new ProbeUser(u.Id, u.Username, u.Email, u.CreatedAt, u.UpdatedAt, u.Version))
            .FirstOrDefault());

    private static async Task<IResult> EfAsync(
        Func<UsersDbContext, int, CancellationToken, Task<ProbeUser?>> findById, UsersDbContext db, string id, HttpContext context) =>
        int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId)
        && await findById(db, userId, context.RequestAborted) is { } found
            ? Found(context, found)
            : Results.NotFound();

    private static async Task<IResult> AdoAsync(NpgsqlDataSource source, string id, HttpContext context)
    {
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
        {
            return Results.NotFound();
        }

        await using var connection = await source.OpenConnectionAsync(context.RequestAborted);
        await using var command = connection.CreateCommand();
        return await ReadAsync(command, userId, context);
    }

    // As bench/Baseline: a generic DbCommand, its parameter and reader.
    private static async Task<IResult> ReadAsync(DbCommand command, int userId, HttpContext context)
    {
        command.CommandText = SelectById;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = userId;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        return await reader.ReadAsync(context.RequestAborted)
            ? Found(context, new ProbeUser(
                reader.GetInt32(0), reader.GetString(1), reader.GetString(2),
                DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc), DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc),
                reader.GetGuid(5)))
            : Results.NotFound();
    }

    private static Ok<UserResponse> Found(HttpContext context, ProbeUser found)
    {
        context.Response.Headers.ETag = $"\"{found.Version:N}\"";
        return TypedResults.Ok(new UserResponse(found.Id, found.Username, found.Email, found.CreatedAt, found.UpdatedAt));
    }
}
