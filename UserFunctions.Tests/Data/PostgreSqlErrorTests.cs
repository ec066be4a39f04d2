using System.Net;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using UserFunctions.Core.Data;
using UserFunctions.Core.Users;

namespace UserFunctions.Tests.Data;

/// <summary>Failures a real PostgreSQL server produces, classified the way the API answers them (503 for transient).</summary>
public sealed class PostgreSqlErrorTests(PostgreSqlTestDatabase database) : IClassFixture<PostgreSqlTestDatabase>, IAsyncLifetime
{
    public Task InitializeAsync() => database.EmptyAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task AnUnreachableServerIsTransient()
    {
        await using var services = new ServiceCollection().AddUsersData(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["ConnectionStrings:Users"] = $"Host=127.0.0.1;Port={ClosedPort()};Database=users;Username=app;Password=secret",
            ["Database:MaxRetryCount"] = "0",
        }).Build()).BuildServiceProvider();
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<UsersDbContext>();

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => db.Users.CountAsync());

        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(exception).Kind);
    }

    [Fact]
    public async Task AConnectionTheAdministratorTerminatedIsTransient()
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using (var admin = new NpgsqlConnection((await PostgresServer.GetAsync()).AdminConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", admin);
            terminate.Parameters.AddWithValue("pid", connection.ProcessID);
            await terminate.ExecuteNonQueryAsync();
        }

        await using var query = new NpgsqlCommand("SELECT 1", connection);
        var exception = await Assert.ThrowsAnyAsync<NpgsqlException>(() => query.ExecuteScalarAsync());

        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(exception).Kind);
    }

    [Fact]
    public async Task ASerializationFailureIsTransient()
    {
        var user = User.Create(new UserRequest("john_doe", "john@example.com"), DateTime.UtcNow);
        await using (var db = database.CreateContext())
        {
            db.Users.Add(user);
            await db.SaveChangesAsync();
        }

        await using var reader = new NpgsqlConnection(database.ConnectionString);
        await reader.OpenAsync();
        await using var transaction = await reader.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        await Execute(reader, $"""SELECT "Version" FROM "Users" WHERE "Id" = {user.Id}""", transaction);
        await using (var writer = new NpgsqlConnection(database.ConnectionString))
        {
            await writer.OpenAsync();
            await Execute(writer, $"""UPDATE "Users" SET "Version" = gen_random_uuid() WHERE "Id" = {user.Id}""");
        }

        var exception = await Assert.ThrowsAsync<PostgresException>(() =>
            Execute(reader, $"""UPDATE "Users" SET "Version" = gen_random_uuid() WHERE "Id" = {user.Id}""", transaction));

        Assert.Equal(PostgresErrorCodes.SerializationFailure, exception.SqlState);
        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(exception).Kind);
    }

    [Fact]
    public async Task WaitingTooLongForAPooledConnectionIsTransient()
    {
        // Every pooled connection in use for the whole Timeout: what an instance at its Max Pool Size sees.
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            MaxPoolSize = 1,
            Timeout = 1,
            ApplicationName = $"pool-{Guid.NewGuid():N}",
        }.ConnectionString;
        await using var held = new NpgsqlConnection(connectionString);
        await held.OpenAsync();

        await using var waiting = new NpgsqlConnection(connectionString);
        var exception = await Assert.ThrowsAnyAsync<NpgsqlException>(() => waiting.OpenAsync());

        Assert.Equal(DatabaseFailureKind.Transient, DatabaseErrors.Classify(exception).Kind);
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
