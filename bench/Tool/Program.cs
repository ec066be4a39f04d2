using System.Globalization;
using UserFunctions.Bench.Tool;
using UserFunctions.Bench.Tool.Run;

return args switch
{
    ["seed-postgresql", var connectionString, var count] => Seeder.RunPostgreSql(connectionString, int.Parse(count, CultureInfo.InvariantCulture), Console.Out),
    ["seed", var path, var count] => Seeder.Run(path, int.Parse(count, CultureInfo.InvariantCulture), Console.Out),
    ["run", .. var rest] => await RunCommand.RunAsync(rest),
    ["report", var folder] => await RunCommand.ReportAgainAsync(folder),
    ["coldstart", .. var rest] => await ColdStart.RunAsync(rest),
    ["probe", .. var rest] => await Probe.RunAsync(rest),
    ["probe-postgresql", .. var rest] => await ProbePostgreSql.RunAsync(rest),
    ["pages", var flavour, var count, var pageSize] => Pages.Write(flavour, int.Parse(count, CultureInfo.InvariantCulture), int.Parse(pageSize, CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          run [--suites ...] [--duration ...] ... (--help for all)
              the benchmarks of docs/performance.md: bash bench/run.sh passes its arguments here
          report <run folder>
              a past run's result.json and tables again, from its raw measurements (bench/results/runs/<run id>)
          seed <database file> <user count>
              creates the file with the API's own SQLite migrations and inserts <user count> users (one transaction)
          seed-postgresql <connection string> <user count>
              the same in an existing, empty PostgreSQL database
          pages api|baseline <user count> <page size>
              prints one request path per page of the seeded users (the API's signed cursors, or the baseline's after=)
          probe <port> <database file>
              serves GET by id several ways (Core, raw ADO.NET, EF compiled/LINQ) to split the API's cost (bench/probe.sh)
          probe-postgresql <port> <pid file>
              the same on a private PostgreSQL cluster it starts and seeds (the postmaster's pid goes to <pid file>)
          coldstart <runs> <url> <working directory> <command> [arguments...]
              starts the command <runs> times; for each, the milliseconds from process start to the first 200 from <url>
        """);
    return 2;
}
