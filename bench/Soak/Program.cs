using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using UserFunctions.Bench.Soak;
using UserFunctions.DevServer;
using UserFunctions.TestHost;
using UserFunctions.Tests.Api;
using UserFunctions.Tests.Data;

// Usage: UserFunctions.Bench.Soak [--host devserver|functions] [--seconds 60] [--clients 16] [--functions-app DIR] [--seed N]
var options = SoakOptions.Parse(args);
var server = await PostgresServer.GetAsync();
var direct = await server.CreateDatabaseAsync("soak");
var upstream = new NpgsqlConnectionStringBuilder(direct);
await using var proxy = new FaultProxy(new IPEndPoint(IPAddress.Parse(upstream.Host!), upstream.Port));
var settings = new Dictionary<string, string?>
{
    ["Database:Provider"] = "PostgreSql",
    ["ConnectionStrings:Users"] = new NpgsqlConnectionStringBuilder(direct) { Port = proxy.Port }.ConnectionString,
    ["Database:MigrateOnStartup"] = "true",
    ["Logging:LogLevel:Default"] = "Error",
};

await using var api = await Api.StartAsync(options, settings);
Console.Error.WriteLine($"soak: {options.Clients} clients for {options.Seconds} s against the {options.Host} on PostgreSQL; the proxy cuts connections at random");

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients * 2 })
{
    BaseAddress = api.BaseAddress,
    Timeout = TimeSpan.FromSeconds(60),
};
var log = new SoakLog();
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds));
var breaker = BreakAsync(proxy, log, new Random(options.Seed), stop.Token);
var clients = Enumerable.Range(0, options.Clients)
    .Select(i => new SoakClient(i, http, log, new Random(options.Seed * 1000 + i)).RunAsync(stop.Token))
    .ToList();
await Task.WhenAll(clients);
await breaker;

// The line is whole again: every client settles what it could not know, then the database is compared with the log.
var owned = new List<OwnedUser>();
foreach (var client in clients)
{
    owned.AddRange(await client);
}

var report = await SoakCheck.CompareAsync(direct, owned, log);
report.Print(options, log, proxy.Accepted);
return report.Violations == 0 ? 0 : 1;

static async Task BreakAsync(FaultProxy proxy, SoakLog log, Random random, CancellationToken stop)
{
    try
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 2500)), stop);
            if (random.Next(10) == 0)
            {
                // Now and then an outage: the server is gone for a moment, open connections and new ones alike.
                await using (proxy.Cut())
                {
                    log.Outages++;
                    await Task.Delay(TimeSpan.FromMilliseconds(random.Next(500, 2000)), stop);
                }
            }
            else
            {
                proxy.DropOpenConnections();
                log.Cuts++;
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}

namespace UserFunctions.Bench.Soak
{
    internal sealed record SoakOptions(string Host, int Seconds, int Clients, int Seed, string? FunctionsApp)
    {
        public static SoakOptions Parse(string[] args)
        {
            var values = new Dictionary<string, string>();
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                values[args[i].TrimStart('-')] = args[i + 1];
            }

            var host = values.GetValueOrDefault("host", "devserver");
            if (host is not ("devserver" or "functions"))
            {
                throw new ArgumentException("--host is devserver or functions");
            }

            return new SoakOptions(
                host,
                int.Parse(values.GetValueOrDefault("seconds", "60"), CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("clients", "16"), CultureInfo.InvariantCulture),
                int.Parse(values.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture),
                values.GetValueOrDefault("functions-app"));
        }
    }

    /// <summary>The API under test: the dev server on Kestrel in this process, or the Functions app's worker behind the test host.</summary>
    internal sealed class Api : IAsyncDisposable
    {
        private WebApplication? _devServer;
        private FunctionsTestHost? _functions;
        private ILoggerFactory? _hostLogs;

        public Uri BaseAddress { get; private set; } = null!;

        public static async Task<Api> StartAsync(SoakOptions options, Dictionary<string, string?> settings)
        {
            var api = new Api();
            if (options.Host == "devserver")
            {
                api._devServer = DevServerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
                await api._devServer.StartAsync();
                api.BaseAddress = new Uri(api._devServer.Urls.First());
            }
            else
            {
                // The worker's warnings and errors (its 503s and any 500) reach stderr through the test host.
                api._hostLogs = LoggerFactory.Create(logging => logging
                    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                    .SetMinimumLevel(LogLevel.Warning));
                api._functions = await FunctionsTestHost.StartAsync(new FunctionsTestHostOptions
                {
                    AppDirectory = options.FunctionsApp ?? throw new ArgumentException("--host functions needs --functions-app DIR"),
                    FunctionKey = null,
                    ApplyLocalSettings = false,
                    Environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value),
                    LoggerFactory = api._hostLogs,
                });
                api.BaseAddress = api._functions.BaseAddress;
            }

            return api;
        }

        public async ValueTask DisposeAsync()
        {
            if (_devServer is not null)
            {
                await _devServer.DisposeAsync();
            }

            if (_functions is not null)
            {
                await _functions.DisposeAsync();
            }

            _hostLogs?.Dispose();
        }
    }

    internal sealed class SoakLog
    {
        public ConcurrentDictionary<string, int> Answers { get; } = new();

        public ConcurrentQueue<string> Violations { get; } = new();

        public int Cuts { get; set; }

        public int Outages { get; set; }

        public void Count(string operation, HttpStatusCode? status) =>
            Answers.AddOrUpdate($"{operation} {(status is { } s ? ((int)s).ToString(CultureInfo.InvariantCulture) : "no answer")}", 1, (_, n) => n + 1);

        public void Violation(string what) => Violations.Enqueue(what);
    }

    internal enum Known
    {
        /// <summary>Created or changed, acknowledged: the row holds <see cref="OwnedUser.Version"/>.</summary>
        Exists,

        /// <summary>Deletion acknowledged: no row.</summary>
        Deleted,

        /// <summary>A write on it got no definite answer; the client settles it with a read before it writes again.</summary>
        Unsettled,
    }

    /// <summary>A user one client created and only that client writes: its state is known exactly after every acknowledged write.</summary>
    internal sealed class OwnedUser(string username)
    {
        public string Username { get; } = username;

        public long? Id { get; set; }

        public Guid Version { get; set; }

        public Known State { get; set; } = Known.Unsettled;
    }

    internal sealed class SoakClient(int number, HttpClient http, SoakLog log, Random random)
    {
        private const int KeyedAttempts = 8;
        private readonly List<OwnedUser> _users = [];
        private int _created;

        public async Task<List<OwnedUser>> RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var live = _users.Where(u => u.State == Known.Exists).ToList();
                var roll = random.Next(100);
                if (_users.FirstOrDefault(u => u.State == Known.Unsettled && u.Id is not null) is { } unsettled)
                {
                    await SettleAsync(unsettled);
                }
                else if (live.Count == 0 || roll < 35)
                {
                    await CreateAsync(keyed: random.Next(2) == 0);
                }
                else if (roll < 55)
                {
                    await ReplaceAsync(live[random.Next(live.Count)]);
                }
                else if (roll < 75)
                {
                    await PatchAsync(live[random.Next(live.Count)], keyed: random.Next(2) == 0);
                }
                else if (roll < 85)
                {
                    await DeleteAsync(live[random.Next(live.Count)]);
                }
                else
                {
                    await ReadAsync(live[random.Next(live.Count)]);
                }
            }

            // The line is whole again: settle what is still unknown.
            foreach (var user in _users.Where(u => u.Id is not null))
            {
                for (var attempt = 0; attempt < 10 && user.State == Known.Unsettled; attempt++)
                {
                    await SettleAsync(user);
                }
            }

            return _users;
        }

        private async Task CreateAsync(bool keyed)
        {
            var user = new OwnedUser($"soak{number}x{_created++}");
            _users.Add(user);
            var body = $"{{\"username\":\"{user.Username}\",\"email\":\"{user.Username}@example.com\"}}";
            var answer = await SendWithKeyAsync("create", keyed, () => Request(HttpMethod.Post, "/api/users", body, "application/json"));
            if (answer.Status == HttpStatusCode.Created)
            {
                user.Id = answer.Body!.Value.GetProperty("id").GetInt64();
                user.Version = answer.Version!.Value;
                user.State = Known.Exists;
            }
            else if (answer.IsFieldConflict)
            {
                log.Violation($"create {user.Username}: 409 for a username nobody else ever sent");
            }
        }

        private async Task ReplaceAsync(OwnedUser user)
        {
            var body = $"{{\"username\":\"{user.Username}\",\"email\":\"{user.Username}.{random.Next(1000)}@example.com\"}}";
            Changed(user, "replace", await SendWithKeyAsync("replace", keyed: false, () => Request(HttpMethod.Put, $"/api/users/{user.Id}", body, "application/json", user.Version)));
        }

        private async Task PatchAsync(OwnedUser user, bool keyed)
        {
            var body = $"{{\"email\":\"{user.Username}.{random.Next(1000)}@example.com\"}}";
            Changed(user, "patch", await SendWithKeyAsync("patch", keyed, () => Request(HttpMethod.Patch, $"/api/users/{user.Id}", body, "application/merge-patch+json", user.Version)));
        }

        private async Task DeleteAsync(OwnedUser user)
        {
            switch ((await SendWithKeyAsync("delete", keyed: false, () => Request(HttpMethod.Delete, $"/api/users/{user.Id}", null, null))).Status)
            {
                case HttpStatusCode.NoContent:
                    user.State = Known.Deleted;
                    break;
                case HttpStatusCode.NotFound:
                    log.Violation($"delete {user.Id}: 404 for a user that exists");
                    break;
                default:
                    user.State = Known.Unsettled;
                    break;
            }
        }

        private async Task ReadAsync(OwnedUser user)
        {
            var answer = await SendAsync("read", Request(HttpMethod.Get, $"/api/users/{user.Id}", null, null));
            if (answer.Status == HttpStatusCode.OK && answer.Version != user.Version)
            {
                log.Violation($"read {user.Id}: version {answer.Version} after an acknowledged write of {user.Version}");
            }
            else if (answer.Status == HttpStatusCode.NotFound)
            {
                log.Violation($"read {user.Id}: 404 for a user that exists");
            }
        }

        // A write without a definite answer may or may not have committed; a read says which, and either is honest.
        private async Task SettleAsync(OwnedUser user)
        {
            var answer = await SendAsync("settle", Request(HttpMethod.Get, $"/api/users/{user.Id}", null, null));
            if (answer.Status == HttpStatusCode.OK)
            {
                user.Version = answer.Version!.Value;
                user.State = Known.Exists;
            }
            else if (answer.Status == HttpStatusCode.NotFound)
            {
                user.State = Known.Deleted;
            }
            else
            {
                await Task.Delay(200);
            }
        }

        private void Changed(OwnedUser user, string operation, Answer answer)
        {
            if (answer.Status == HttpStatusCode.OK)
            {
                user.Version = answer.Version!.Value;
            }
            else if (answer.Status is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound || answer.IsFieldConflict)
            {
                log.Violation($"{operation} {user.Id}: {(int)answer.Status!} although this client holds the current version");
            }
            else
            {
                user.State = Known.Unsettled;
            }
        }

        // A keyed request the client did not hear back from is sent again with the same key, as the draft intends; an unkeyed
        // one is not (its outcome is settled by a read instead).
        private async Task<Answer> SendWithKeyAsync(string operation, bool keyed, Func<HttpRequestMessage> request)
        {
            var key = keyed ? $"\"{Guid.NewGuid()}\"" : null;
            for (var attempt = 1; ; attempt++)
            {
                var message = request();
                if (key is not null)
                {
                    message.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                }

                var answer = await SendAsync(keyed ? $"keyed {operation}" : operation, message);
                var inProgress = answer.Status == HttpStatusCode.Conflict && !answer.IsFieldConflict;
                if (key is null || attempt == KeyedAttempts || !(answer.Status is null or HttpStatusCode.ServiceUnavailable || inProgress))
                {
                    return answer;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt));
            }
        }

        private async Task<Answer> SendAsync(string operation, HttpRequestMessage request)
        {
            try
            {
                using (request)
                using (var response = await http.SendAsync(request))
                {
                    log.Count(operation, response.StatusCode);
                    if (response.StatusCode == HttpStatusCode.InternalServerError)
                    {
                        log.Violation($"{operation}: 500");
                    }

                    var text = await response.Content.ReadAsStringAsync();
                    var body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true
                        ? JsonDocument.Parse(text).RootElement
                        : (JsonElement?)null;
                    var version = response.Headers.ETag is { } etag ? Guid.ParseExact(etag.Tag.Trim('"'), "N") : (Guid?)null;
                    return new Answer(response.StatusCode, body, version);
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                log.Count(operation, null);
                return new Answer(null, null, null);
            }
        }

        private static HttpRequestMessage Request(HttpMethod method, string url, string? body, string? mediaType, Guid? ifMatch = null)
        {
            var request = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, mediaType!);
            }

            if (ifMatch is { } version)
            {
                request.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{version:N}\""));
            }

            return request;
        }

    }

    /// <param name="Status">Null when no answer came (the client gave up or the connection failed).</param>
    /// <param name="Version">The user's version, from the ETag.</param>
    internal sealed record Answer(HttpStatusCode? Status, JsonElement? Body, Guid? Version)
    {
        /// <summary>A 409 that names a field (a taken username or email), not an Idempotency-Key still in progress.</summary>
        public bool IsFieldConflict => Status == HttpStatusCode.Conflict && Body?.TryGetProperty("errors", out _) == true;
    }

    internal sealed record SoakReport(int Acknowledged, int Lost, int Duplicated, int UnsettledCreatesStored, int UnsettledCreatesAbsent, int Violations)
    {
        public void Print(SoakOptions options, SoakLog log, int connections)
        {
            Console.WriteLine($"soak on the {options.Host}, PostgreSQL through the fault proxy: {options.Clients} clients, {options.Seconds} s, seed {options.Seed}");
            Console.WriteLine($"  faults: {log.Cuts} cuts of every open connection, {log.Outages} outages; {connections} connections opened");
            Console.WriteLine("  answers:");
            foreach (var (answer, count) in log.Answers.OrderBy(a => a.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"    {answer,-24} {count,7}");
            }

            Console.WriteLine($"  users whose final state was acknowledged: {Acknowledged}");
            Console.WriteLine($"  creates never acknowledged: {UnsettledCreatesStored} committed, {UnsettledCreatesAbsent} not (either is honest)");
            Console.WriteLine($"  lost acknowledged writes: {Lost}");
            Console.WriteLine($"  duplicated or unexplained rows: {Duplicated}");
            Console.WriteLine($"  other broken promises (500s, false 409/412/404, stale reads): {log.Violations.Count}");
            foreach (var violation in log.Violations.Take(20))
            {
                Console.WriteLine($"    {violation}");
            }

            Console.WriteLine(Violations == 0 ? "  RESULT: the database matches every acknowledged write" : $"  RESULT: {Violations} violations");
        }
    }

    internal static class SoakCheck
    {
        public static async Task<SoakReport> CompareAsync(string connectionString, List<OwnedUser> owned, SoakLog log)
        {
            var rows = new Dictionary<string, (long Id, Guid Version)>(StringComparer.Ordinal);
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT \"Username\", \"Id\", \"Version\" FROM \"Users\"", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    if (!rows.TryAdd(reader.GetString(0), (reader.GetInt64(1), reader.GetGuid(2))))
                    {
                        log.Violation($"two rows for {reader.GetString(0)}");
                    }
                }
            }

            int acknowledged = 0, lost = 0, stored = 0, absent = 0;
            foreach (var user in owned)
            {
                var row = rows.Remove(user.Username, out var found) ? found : ((long Id, Guid Version)?)null;
                switch (user.State)
                {
                    case Known.Exists:
                        acknowledged++;
                        if (row is null || row.Value.Id != user.Id || row.Value.Version != user.Version)
                        {
                            lost++;
                            log.Violation($"{user.Username}: acknowledged version {user.Version}, stored {row?.Version.ToString() ?? "nothing"}");
                        }

                        break;
                    case Known.Deleted:
                        acknowledged++;
                        if (row is not null)
                        {
                            lost++;
                            log.Violation($"{user.Username}: deletion acknowledged, row still there");
                        }

                        break;
                    case Known.Unsettled when user.Id is null:
                        _ = row is null ? absent++ : stored++;
                        break;
                    case Known.Unsettled:
                        log.Violation($"{user.Username}: still unsettled after the line came back");
                        break;
                }
            }

            // Whatever is left in the table no client ever asked for.
            var duplicated = rows.Count;
            return new SoakReport(acknowledged, lost, duplicated, stored, absent, lost + duplicated + log.Violations.Count);
        }
    }
}
