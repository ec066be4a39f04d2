using System.Data.Common;
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace UserFunctions.Core.Data;

public enum DatabaseProvider
{
    Sqlite,

    /// <summary>SQL Server through EF's <c>UseSqlServer</c>.</summary>
    SqlServer,

    /// <summary>Azure SQL Database through EF's <c>UseAzureSql</c>: the same context, migrations and SQL Server driver.</summary>
    AzureSql,

    PostgreSql,
}

/// <summary>The database settings, read and checked once at start-up. See the configuration table in docs/configuration.md.</summary>
public sealed record DatabaseSettings
{
    public const string ConnectionStringName = "Users";
    public const string DefaultSqliteConnectionString = "Data Source=users.db";

    /// <summary>The connection timeout a server connection string gets when it sets none (the drivers' own default is 15 s).</summary>
    public const int DefaultConnectTimeoutSeconds = 5;

    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;
    public string ConnectionString { get; init; } = DefaultSqliteConnectionString;
    public int CommandTimeoutSeconds { get; init; } = 30;
    public int MaxRetryCount { get; init; } = 3;
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one database operation may keep retrying: no retry starts unless it could fail (by its connection timeout) within
    /// the budget. With the default connection timeout, a request meets an outage with a 503 in about 10 s.
    /// </summary>
    public TimeSpan RetryBudget { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The server connection string's connection timeout, after <see cref="From"/> added the default.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(DefaultConnectTimeoutSeconds);

    /// <summary>
    /// Apply pending migrations when the host starts: by default on SQLite, on PostgreSQL only when set explicitly (local servers,
    /// tests), never on SQL Server. Deployed databases are migrated by the bundle.
    /// </summary>
    public bool MigrateOnStartup { get; init; } = true;

    /// <summary>Client id of a user-assigned managed identity for Azure SQL or PostgreSQL; null means DefaultAzureCredential.</summary>
    public string? ManagedIdentityClientId { get; init; }

    /// <summary>
    /// True when the database driver should sign in with an Entra access token from Core's TokenCredential. SQL Server: the
    /// connection string carries no password, no Authentication keyword and no integrated security. PostgreSQL: it carries
    /// no password and no password file.
    /// </summary>
    public bool UsesAccessToken { get; private init; }

    public static DatabaseSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Database");
        var provider = ParseProvider(section["Provider"]);
        var connectionString = configuration.GetConnectionString(ConnectionStringName);

        if (provider != DatabaseProvider.Sqlite && string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Setting 'ConnectionStrings:{ConnectionStringName}' (environment: ConnectionStrings__{ConnectionStringName}) is required " +
                $"when 'Database:Provider' is '{provider}'. " + (provider is DatabaseProvider.SqlServer or DatabaseProvider.AzureSql
                    ? "For Azure SQL without a password use 'Server=tcp:<server>.database.windows.net,1433;Database=<database>;Encrypt=True'."
                    : "For example 'Host=localhost;Database=users;Username=<user>;Password=<password>'."));
        }

        var settings = new DatabaseSettings
        {
            Provider = provider,
            ConnectionString = string.IsNullOrWhiteSpace(connectionString) ? DefaultSqliteConnectionString : connectionString,
            CommandTimeoutSeconds = ReadPositiveInt(section, "CommandTimeoutSeconds", 30),
            MaxRetryCount = ReadPositiveInt(section, "MaxRetryCount", 3, allowZero: true),
            MaxRetryDelay = TimeSpan.FromSeconds(ReadPositiveInt(section, "MaxRetryDelaySeconds", 5)),
            RetryBudget = TimeSpan.FromSeconds(ReadPositiveInt(section, "RetryBudgetSeconds", 10)),
            // Server databases change only through the bundle unless someone asks for it on their own server.
            MigrateOnStartup = provider switch
            {
                DatabaseProvider.Sqlite => ReadBool(section, "MigrateOnStartup", true),
                DatabaseProvider.PostgreSql => ReadBool(section, "MigrateOnStartup", false),
                _ => false,
            },
            ManagedIdentityClientId = NullIfEmpty(section["ManagedIdentityClientId"]) ?? NullIfEmpty(configuration["AZURE_CLIENT_ID"]),
        };

        return provider switch
        {
            DatabaseProvider.SqlServer or DatabaseProvider.AzureSql => ForSqlServer(settings),
            DatabaseProvider.PostgreSql => ForPostgreSql(settings),
            _ => settings,
        };
    }

    private static DatabaseSettings ForSqlServer(DatabaseSettings settings)
    {
        var builder = ParseConnectionString(settings.ConnectionString, "SQL Server", static text => new SqlConnectionStringBuilder(text));
        var usesAccessToken = string.IsNullOrEmpty(builder.Password)
            && builder.Authentication == SqlAuthenticationMethod.NotSpecified
            && !builder.IntegratedSecurity;
        if (!SetsAnyOf(settings.ConnectionString, "Connect Timeout", "Connection Timeout", "Timeout"))
        {
            builder.ConnectTimeout = DefaultConnectTimeoutSeconds;
        }

        return settings with
        {
            ConnectionString = builder.ConnectionString,
            ConnectTimeout = TimeSpan.FromSeconds(builder.ConnectTimeout),
            UsesAccessToken = usesAccessToken,
        };
    }

    private static DatabaseSettings ForPostgreSql(DatabaseSettings settings)
    {
        var builder = ParseConnectionString(settings.ConnectionString, "PostgreSQL", static text => new NpgsqlConnectionStringBuilder(text));
        var usesAccessToken = string.IsNullOrEmpty(builder.Password) && string.IsNullOrEmpty(builder.Passfile);
        if (!SetsAnyOf(settings.ConnectionString, "Timeout"))
        {
            builder.Timeout = DefaultConnectTimeoutSeconds;
        }

        return settings with
        {
            ConnectionString = builder.ConnectionString,
            ConnectTimeout = TimeSpan.FromSeconds(builder.Timeout),
            UsesAccessToken = usesAccessToken,
        };
    }

    // The typed builders report every keyword as present (with its default); only the raw string says what was written.
    private static bool SetsAnyOf(string connectionString, params string[] keywords)
    {
        var raw = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(raw.ContainsKey);
    }

    private static DatabaseProvider ParseProvider(string? value) => value?.Trim() switch
    {
        null or "" => DatabaseProvider.Sqlite,
        var name when name.Equals("Sqlite", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.Sqlite,
        var name when name.Equals("SqlServer", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.SqlServer,
        var name when name.Equals("AzureSql", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.AzureSql,
        var name when name.Equals("PostgreSql", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.PostgreSql,
        _ => throw new InvalidOperationException(
            $"Setting 'Database:Provider' (environment: Database__Provider) is '{value}'; expected 'Sqlite', 'SqlServer', 'AzureSql' or 'PostgreSql'."),
    };

    private static TBuilder ParseConnectionString<TBuilder>(string connectionString, string databaseName, Func<string, TBuilder> parse)
    {
        try
        {
            return parse(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The parser's message names the bad keyword, never the value.
            throw new InvalidOperationException(
                $"Setting 'ConnectionStrings:{ConnectionStringName}' is not a valid {databaseName} connection string: {ex.Message}");
        }
    }

    private static int ReadPositiveInt(IConfigurationSection section, string key, int defaultValue, bool allowZero = false)
    {
        var raw = section[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        return int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && (value > 0 || (allowZero && value == 0))
            ? value
            : throw new InvalidOperationException(
                $"Setting 'Database:{key}' is '{raw}'; expected a whole number {(allowZero ? "of 0 or more" : "above 0")}.");
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool defaultValue)
    {
        var raw = section[key];
        return string.IsNullOrWhiteSpace(raw) ? defaultValue
            : bool.TryParse(raw, out var value) ? value
            : throw new InvalidOperationException($"Setting 'Database:{key}' is '{raw}'; expected true or false.");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
