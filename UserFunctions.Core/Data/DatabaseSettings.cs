using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Configuration;

namespace UserFunctions.Core.Data;

public enum DatabaseProvider
{
    Sqlite,
    SqlServer,
}

/// <summary>The database settings, read and checked once at start-up. See the configuration table in README.md.</summary>
public sealed record DatabaseSettings
{
    public const string ConnectionStringName = "Users";
    public const string DefaultSqliteConnectionString = "Data Source=users.db";

    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;
    public string ConnectionString { get; init; } = DefaultSqliteConnectionString;
    public int CommandTimeoutSeconds { get; init; } = 30;
    public int MaxRetryCount { get; init; } = 3;
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Apply pending migrations when the host starts. SQLite only: Azure SQL is migrated by the bundle.</summary>
    public bool MigrateOnStartup { get; init; } = true;

    /// <summary>Client id of a user-assigned managed identity for Azure SQL; null means DefaultAzureCredential.</summary>
    public string? ManagedIdentityClientId { get; init; }

    /// <summary>
    /// True when SqlClient should get its access token from Core's TokenCredential: the connection string
    /// carries no password, no Authentication keyword and no integrated security.
    /// </summary>
    public bool UsesAccessToken { get; private init; }

    public static DatabaseSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Database");
        var provider = ParseProvider(section["Provider"]);
        var connectionString = configuration.GetConnectionString(ConnectionStringName);

        if (provider == DatabaseProvider.SqlServer && string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"Setting 'ConnectionStrings:{ConnectionStringName}' (environment: ConnectionStrings__{ConnectionStringName}) is required " +
                "when 'Database:Provider' is 'SqlServer'. For Azure SQL without a password use " +
                "'Server=tcp:<server>.database.windows.net,1433;Database=<database>;Encrypt=True'.");
        }

        var settings = new DatabaseSettings
        {
            Provider = provider,
            ConnectionString = string.IsNullOrWhiteSpace(connectionString) ? DefaultSqliteConnectionString : connectionString,
            CommandTimeoutSeconds = ReadPositiveInt(section, "CommandTimeoutSeconds", 30),
            MaxRetryCount = ReadPositiveInt(section, "MaxRetryCount", 3, allowZero: true),
            MaxRetryDelay = TimeSpan.FromSeconds(ReadPositiveInt(section, "MaxRetryDelaySeconds", 5)),
            MigrateOnStartup = provider == DatabaseProvider.Sqlite && ReadBool(section, "MigrateOnStartup", true),
            ManagedIdentityClientId = NullIfEmpty(section["ManagedIdentityClientId"]) ?? NullIfEmpty(configuration["AZURE_CLIENT_ID"]),
        };

        return provider == DatabaseProvider.SqlServer
            ? settings with { UsesAccessToken = NeedsAccessToken(settings.ConnectionString) }
            : settings;
    }

    private static DatabaseProvider ParseProvider(string? value) => value?.Trim() switch
    {
        null or "" => DatabaseProvider.Sqlite,
        var name when name.Equals("Sqlite", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.Sqlite,
        var name when name.Equals("SqlServer", StringComparison.OrdinalIgnoreCase) => DatabaseProvider.SqlServer,
        _ => throw new InvalidOperationException(
            $"Setting 'Database:Provider' (environment: Database__Provider) is '{value}'; expected 'Sqlite' or 'SqlServer'."),
    };

    private static bool NeedsAccessToken(string connectionString)
    {
        SqlConnectionStringBuilder builder;
        try
        {
            builder = new SqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The parser's message names the bad keyword, never the value.
            throw new InvalidOperationException(
                $"Setting 'ConnectionStrings:{ConnectionStringName}' is not a valid SQL Server connection string: {ex.Message}");
        }

        return string.IsNullOrEmpty(builder.Password)
            && builder.Authentication == SqlAuthenticationMethod.NotSpecified
            && !builder.IntegratedSecurity;
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
