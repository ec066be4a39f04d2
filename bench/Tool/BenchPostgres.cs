using System.Globalization;
using Npgsql;
using UserFunctions.Bench.Tool.Run;
using UserFunctions.Tests.Data;

namespace UserFunctions.Bench.Tool;

/// <summary>
/// The benchmark's PostgreSQL (the <c>postgresql</c> suite of bench/run.sh and bench/probe.sh's <c>--database postgresql</c>):
/// the tests' private cluster (loopback only, password authentication: a connection string without a password would make
/// the API sign in with an Entra token), with durability as a server keeps it, and one seeded database that
/// <see cref="CopyOfSeedAsync"/> copies, so every server gets an identical one.
/// </summary>
internal sealed class BenchPostgres
{
    private const string Seed = "users_seed";

    private readonly PostgresServer _server;

    private BenchPostgres(PostgresServer server, int postmaster)
    {
        _server = server;
        Postmaster = postmaster;
    }

    /// <summary>The postmaster's process id: its CPU, its reaped and its live backends' are PostgreSQL's CPU.</summary>
    public int Postmaster { get; }

    /// <summary>Starts the cluster (once per process) and seeds <paramref name="users"/> users through the API's migrations.</summary>
    public static async Task<BenchPostgres> StartAsync(int users, TextWriter log)
    {
        var server = await PostgresServer.GetAsync();

        // The tests turn durability off; here PostgreSQL keeps its defaults except synchronous_commit = off (which the
        // tests' cluster sets too), so that writes measure CPU rather than this VM's shared disk. Both settings take a reload.
        await AdminAsync(server, "ALTER SYSTEM SET fsync = on");
        await AdminAsync(server, "ALTER SYSTEM SET full_page_writes = on");
        await AdminAsync(server, "SELECT pg_reload_conf()");
        for (var attempt = 0; await AdminAsync(server, "SHOW fsync") != "on"; attempt++)
        {
            if (attempt == 50)
            {
                throw new BenchException("PostgreSQL did not take fsync = on after a reload");
            }

            await Task.Delay(100);
        }

        var dataDirectory = await AdminAsync(server, "SHOW data_directory");
        var postgres = new BenchPostgres(server, int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture));
        log.WriteLine(FormattableString.Invariant(
            $"PostgreSQL {await AdminAsync(server, "SHOW server_version")} on 127.0.0.1:{new NpgsqlConnectionStringBuilder(server.AdminConnectionString).Port}"));

        await AdminAsync(server, $"CREATE DATABASE {Seed}");
        if (Seeder.RunPostgreSql(postgres.ConnectionString(Seed), users, log) != 0)
        {
            throw new BenchException("seeding PostgreSQL failed");
        }

        return postgres;
    }

    /// <summary>A new database <paramref name="name"/>, a copy of the seeded one; returns its connection string.</summary>
    public async Task<string> CopyOfSeedAsync(string name)
    {
        await AdminAsync(_server, $"CREATE DATABASE {name} TEMPLATE {Seed}");
        return ConnectionString(name);
    }

    private string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(_server.AdminConnectionString) { Database = database }.ConnectionString;

    private static async Task<string> AdminAsync(PostgresServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (await command.ExecuteScalarAsync())?.ToString() ?? "";
    }
}
