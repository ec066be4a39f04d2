using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using UserFunctions.DevServer;
using UserFunctions.TestHost;
using UserFunctions.Tests.Data;

using UserFunctions.Tests.OpenApi;

namespace UserFunctions.Tests.Api;

public enum HostKind
{
    /// <summary>The dev server's ASP.NET Core pipeline on a TestServer, in the test process.</summary>
    DevServer,

    /// <summary>The built Functions app as a worker process, served by <see cref="FunctionsTestHost"/>.</summary>
    Functions,
}

/// <summary>
/// One running API and its own database, shared by the tests of one class (xunit runs those one at a time, and
/// <see cref="ApiTestBase"/> empties the table before each). Every test class in Api/ runs on each host and database.
/// </summary>
public abstract class ApiHost(HostKind kind, Func<TestDatabase> createDatabase) : IAsyncLifetime
{
    public const string FunctionKey = "test-function-key";

    private WebApplication? _devServer;
    private ILoggerFactory? _workerLoggerFactory;

    public HostKind Kind { get; } = kind;

    public TestDatabase Database { get; } = createDatabase();

    /// <summary>A client that passes the function key, so every operation is reachable on either host.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>The test host, when <see cref="Kind"/> is <see cref="HostKind.Functions"/>.</summary>
    public FunctionsTestHost? Functions { get; private set; }

    /// <summary>
    /// What the host logged: the dev server at Warning or above; on Functions, the test host and, through it, the worker at
    /// Information or above.
    /// </summary>
    public FakeLogCollector HostLog { get; } = new();

    /// <summary>The built Functions app the test host runs (the test project builds it first).</summary>
    public static string FunctionsAppDirectory { get; } = typeof(ApiHost).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FunctionsAppDirectory").Value!;

    /// <summary>The dev server's services (null on Functions, whose services live in the worker process).</summary>
    public IServiceProvider? Services => _devServer?.Services;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>(await Database.CreateAsync());
        foreach (var (key, value) in await StartDependenciesAsync())
        {
            settings[key] = value;
        }

        if (Kind == HostKind.DevServer)
        {
            _devServer = DevServerApp.Build([], builder =>
            {
                builder.WebHost.UseTestServer();
                builder.Configuration.AddInMemoryCollection(settings);
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
                builder.Logging.AddProvider(new FakeLoggerProvider(HostLog));
            });
            await _devServer.StartAsync();
            // Every response the suite sees is checked against the served OpenAPI document.
            Client = new HttpClient(new ConformanceHandler(_devServer.GetTestServer().CreateHandler()))
            {
                BaseAddress = _devServer.GetTestServer().BaseAddress,
            };
        }
        else
        {
            _workerLoggerFactory = LoggerInto(HostLog);
            Functions = await StartFunctionsAsync(settings, FunctionKey, _workerLoggerFactory);
            Client = new HttpClient(new ConformanceHandler(new SocketsHttpHandler())) { BaseAddress = Functions.BaseAddress };
        }

        Client.DefaultRequestHeaders.Add("x-functions-key", FunctionKey);
    }

    /// <summary>
    /// Starts the built Functions app with these settings (configuration-key form) as the worker's environment. The app
    /// folder's local.settings.json is not applied, so a developer's own settings cannot change what the tests run.
    /// </summary>
    public static Task<FunctionsTestHost> StartFunctionsAsync(IReadOnlyDictionary<string, string?> settings, string? functionKey, ILoggerFactory loggerFactory) =>
        FunctionsTestHost.StartAsync(new FunctionsTestHostOptions
        {
            AppDirectory = FunctionsAppDirectory,
            FunctionKey = functionKey,
            ApplyLocalSettings = false,
            Environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value),
            LoggerFactory = loggerFactory,
        });

    /// <summary>A logger factory that keeps what the test host logs (the worker's logs among it) at Information and above.</summary>
    public static ILoggerFactory LoggerInto(FakeLogCollector log) =>
        LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(new FakeLoggerProvider(log)));

    // xunit disposes a fixture whose start failed too, so each step checks what exists.
    public async Task DisposeAsync()
    {
        try
        {
            Client?.Dispose();
            if (Functions is not null)
            {
                await Functions.DisposeAsync();
            }

            if (_devServer is not null)
            {
                await _devServer.DisposeAsync();
            }
        }
        finally
        {
            _workerLoggerFactory?.Dispose();
            await Database.DisposeAsync();
            await StopDependenciesAsync();
        }
    }

    /// <summary>
    /// Starts what the host talks to besides its database (a token authority, a telemetry receiver) and returns the settings
    /// that point the host at it; they are applied over the database's.
    /// </summary>
    protected virtual Task<IReadOnlyDictionary<string, string?>> StartDependenciesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    /// <summary>Stops what <see cref="StartDependenciesAsync"/> started, after the host and its database.</summary>
    protected virtual ValueTask StopDependenciesAsync() => ValueTask.CompletedTask;

    public Task<long> CountUsersAsync() => Database.CountUsersAsync();

    public Task ExecuteSqlAsync(string sql) => Database.ExecuteSqlAsync(sql);

    public Task<HttpResponseMessage> CreateAsync(string username, string email) =>
        Client.PostUserAsync(JsonSerializer.Serialize(new NewUser(username, email), JsonSerializerOptions.Web));

    public async Task<JsonElement> CreateUserAsync(string username, string email)
    {
        using var response = await CreateAsync(username, email);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static StringContent Json(string json, string mediaType = "application/json") => new(json, Encoding.UTF8, mediaType);

    private sealed record NewUser(string Username, string Email);
}

public sealed class DevServerOnSqlite() : ApiHost(HostKind.DevServer, () => new SqliteTestDatabase(pooling: true));

public sealed class FunctionsOnSqlite() : ApiHost(HostKind.Functions, () => new SqliteTestDatabase(pooling: false));

public sealed class DevServerOnPostgreSql() : ApiHost(HostKind.DevServer, () => new PostgreSqlTestDatabase());

public sealed class FunctionsOnPostgreSql() : ApiHost(HostKind.Functions, () => new PostgreSqlTestDatabase());

/// <summary>A host of either kind on a PostgreSQL database with settings of its own, for a test that starts and stops it itself.</summary>
public sealed class CustomPostgreSqlHost(HostKind kind, IReadOnlyDictionary<string, string?> settings)
    : ApiHost(kind, () => new PostgreSqlTestDatabase(settings)), IAsyncDisposable
{
    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public FaultProxy Proxy => ((PostgreSqlTestDatabase)Database).Proxy;
}
