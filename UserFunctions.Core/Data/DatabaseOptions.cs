using System.ComponentModel.DataAnnotations;
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

/// <summary>
/// The database settings: the <c>Database</c> section (bound and validated as options, checked when the host starts) and
/// <c>ConnectionStrings:Users</c>, which <see cref="ReadConnectionString"/> completes. See the configuration table in docs/configuration.md.
/// </summary>
public sealed class DatabaseOptions : IValidatableObject
{
    public const string SectionName = "Database";
    public const string ConnectionStringName = "Users";
    public const string DefaultSqliteConnectionString = "Data Source=users.db";

    /// <summary>The connection timeout a server connection string gets when it sets none (the drivers' own default is 15 s).</summary>
    public const int DefaultConnectTimeoutSeconds = 5;

    /// <summary>
    /// How many statements a PostgreSQL connection keeps prepared when its connection string sets no <c>Max Auto Prepare</c>
    /// (Npgsql's own default is 0, none): more than the API sends (a few dozen distinct statements at most), so each is
    /// prepared once per connection and reused.
    /// </summary>
    public const int DefaultPostgreSqlMaxAutoPrepare = 32;

    private const string AboveZero = "Setting 'Database:{0}' must be a whole number above 0.";
    private const string ZeroOrMore = "Setting 'Database:{0}' must be a whole number of 0 or more.";

    /// <summary>
    /// Not bound: <see cref="ProviderFrom"/> reads it while the services are registered, because it picks the context type.
    /// </summary>
    public DatabaseProvider Provider { get; internal set; } = DatabaseProvider.Sqlite;

    /// <summary>
    /// <c>ConnectionStrings:Users</c> as the driver gets it: a server connection string with the default connection timeout
    /// added when it sets none, and a passwordless SQL Server one with SqlClient's own Entra sign-in.
    /// </summary>
    public string ConnectionString { get; internal set; } = DefaultSqliteConnectionString;

    [Range(1, int.MaxValue, ErrorMessage = AboveZero)]
    public int CommandTimeoutSeconds { get; set; } = 30;

    [Range(0, int.MaxValue, ErrorMessage = ZeroOrMore)]
    public int MaxRetryCount { get; set; } = 3;

    [Range(1, int.MaxValue, ErrorMessage = AboveZero)]
    public int MaxRetryDelaySeconds { get; set; } = 5;

    /// <summary>
    /// How long one database operation may keep retrying: no retry starts unless it could fail (by its connection timeout) within
    /// the budget. With the default connection timeout, a request meets an outage with a 503 in about 10 s.
    /// </summary>
    [Range(1, int.MaxValue, ErrorMessage = AboveZero)]
    public int RetryBudgetSeconds { get; set; } = 10;

    /// <summary>As set; <see cref="AppliesMigrationsOnStartup"/> is what the host does.</summary>
    public bool? MigrateOnStartup { get; set; }

    /// <summary>
    /// Client id of a user-assigned managed identity for Azure SQL or PostgreSQL; falls back to <c>AZURE_CLIENT_ID</c>, and
    /// null means DefaultAzureCredential.
    /// </summary>
    public string? ManagedIdentityClientId { get; set; }

    public TimeSpan MaxRetryDelay => TimeSpan.FromSeconds(MaxRetryDelaySeconds);

    public TimeSpan RetryBudget => TimeSpan.FromSeconds(RetryBudgetSeconds);

    /// <summary>The server connection string's connection timeout, after <see cref="ReadConnectionString"/> added the default.</summary>
    public TimeSpan ConnectTimeout { get; internal set; } = TimeSpan.FromSeconds(DefaultConnectTimeoutSeconds);

    /// <summary>
    /// Apply pending migrations when the host starts: by default on SQLite, on PostgreSQL only when set explicitly (local servers,
    /// tests), never on SQL Server. Deployed databases are migrated by the bundle.
    /// </summary>
    public bool AppliesMigrationsOnStartup => Provider switch
    {
        DatabaseProvider.Sqlite => MigrateOnStartup ?? true,
        DatabaseProvider.PostgreSql => MigrateOnStartup ?? false,
        _ => false,
    };

    /// <summary>
    /// True when Npgsql should sign in with an Entra access token from Core's TokenCredential: a PostgreSQL connection string
    /// with no password and no password file. (SQL Server signs in with SqlClient's own Entra authentication.)
    /// </summary>
    public bool UsesAccessToken { get; private set; }

    /// <summary>Reads <c>Database:Provider</c>, in any letter case; anything but a provider's name stops start-up naming the setting.</summary>
    public static DatabaseProvider ProviderFrom(IConfiguration configuration)
    {
        var value = configuration[$"{SectionName}:{nameof(Provider)}"]?.Trim();
        return string.IsNullOrEmpty(value) ? DatabaseProvider.Sqlite
            : Enum.GetNames<DatabaseProvider>().FirstOrDefault(name => name.Equals(value, StringComparison.OrdinalIgnoreCase)) is { } name
                ? Enum.Parse<DatabaseProvider>(name)
                : throw new InvalidOperationException(
                    $"Setting 'Database:Provider' (environment: Database__Provider) is '{value}'; expected 'Sqlite', 'SqlServer', 'AzureSql' or 'PostgreSql'.");
    }

    /// <summary>
    /// Takes the provider, <c>ConnectionStrings:Users</c> (and <c>AZURE_CLIENT_ID</c> when no identity is set) and completes the
    /// connection string for the driver.
    /// A connection string its driver cannot parse stops start-up naming the setting, never echoing the value.
    /// </summary>
    internal void ReadConnectionString(IConfiguration configuration)
    {
        Provider = ProviderFrom(configuration);
        ManagedIdentityClientId = NullIfEmpty(ManagedIdentityClientId) ?? NullIfEmpty(configuration["AZURE_CLIENT_ID"]);
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            // A server provider without one fails validation.
            ConnectionString = Provider == DatabaseProvider.Sqlite ? DefaultSqliteConnectionString : "";
            return;
        }

        ConnectionString = connectionString;
        switch (Provider)
        {
            case DatabaseProvider.SqlServer or DatabaseProvider.AzureSql:
                CompleteSqlServerConnectionString();
                break;
            case DatabaseProvider.PostgreSql:
                CompletePostgreSqlConnectionString();
                break;
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider != DatabaseProvider.Sqlite && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                $"Setting 'ConnectionStrings:{ConnectionStringName}' (environment: ConnectionStrings__{ConnectionStringName}) is required " +
                $"when 'Database:Provider' is '{Provider}'. " + (Provider is DatabaseProvider.SqlServer or DatabaseProvider.AzureSql
                    ? "For Azure SQL without a password use 'Server=tcp:<server>.database.windows.net,1433;Database=<database>;Encrypt=True'."
                    : "For example 'Host=localhost;Database=users;Username=<user>;Password=<password>'."),
                [nameof(ConnectionString)]);
        }
    }

    // Passwordless (no password, no Authentication keyword, no integrated security): SqlClient signs in with Entra itself, as the
    // named user-assigned identity if there is one (skipping DefaultAzureCredential's chain), else through DefaultAzureCredential
    // (`az login` on a laptop, a pipeline's federated identity, a system-assigned identity in Azure).
    private void CompleteSqlServerConnectionString()
    {
        var builder = Parse(ConnectionString, "SQL Server", static text => new SqlConnectionStringBuilder(text));
        if (string.IsNullOrEmpty(builder.Password) && builder.Authentication == SqlAuthenticationMethod.NotSpecified && !builder.IntegratedSecurity)
        {
            if (ManagedIdentityClientId is { } clientId && string.IsNullOrEmpty(builder.UserID))
            {
                builder.Authentication = SqlAuthenticationMethod.ActiveDirectoryManagedIdentity;
                builder.UserID = clientId;
            }
            else
            {
                builder.Authentication = SqlAuthenticationMethod.ActiveDirectoryDefault;
            }
        }

        if (!SetsAnyOf(ConnectionString, "Connect Timeout", "Connection Timeout", "Timeout"))
        {
            builder.ConnectTimeout = DefaultConnectTimeoutSeconds;
        }

        ConnectionString = builder.ConnectionString;
        ConnectTimeout = TimeSpan.FromSeconds(builder.ConnectTimeout);
    }

    private void CompletePostgreSqlConnectionString()
    {
        var builder = Parse(ConnectionString, "PostgreSQL", static text => new NpgsqlConnectionStringBuilder(text));
        UsesAccessToken = string.IsNullOrEmpty(builder.Password) && string.IsNullOrEmpty(builder.Passfile);
        if (!SetsAnyOf(ConnectionString, "Timeout"))
        {
            builder.Timeout = DefaultConnectTimeoutSeconds;
        }

        // Npgsql's defaults make every request on a pooled connection pay for a session reset (DISCARD ALL, sent with its
        // first command) and for PostgreSQL parsing and planning the same statement again. The API sets no session state
        // and sends a few statements over and over, so it skips the reset and has Npgsql prepare each statement once per
        // connection: GET by id measured 41% less CPU in the app and 68% less in PostgreSQL (docs/performance.md). A
        // connection string that sets either keeps its value (Max Auto Prepare=0 behind a pooler without prepared statements).
        if (!SetsAnyOf(ConnectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        if (!SetsAnyOf(ConnectionString, "Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = DefaultPostgreSqlMaxAutoPrepare;
        }

        ConnectionString = builder.ConnectionString;
        ConnectTimeout = TimeSpan.FromSeconds(builder.Timeout);
    }

    // The typed builders report every keyword as present (with its default); only the raw string says what was written.
    private static bool SetsAnyOf(string connectionString, params string[] keywords)
    {
        var raw = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(raw.ContainsKey);
    }

    private static TBuilder Parse<TBuilder>(string connectionString, string databaseName, Func<string, TBuilder> parse)
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

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
