using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace UserFunctions.Core.Telemetry;

/// <summary>
/// The API's own counters, on the meter <see cref="MeterName"/>. A counter nobody listens to costs one check per call, so
/// they are always there; the OpenTelemetry SDK (or <c>dotnet-counters</c>) listens when configured.
/// </summary>
public sealed class ApiMetrics
{
    public const string MeterName = "UserFunctions";

    private readonly Counter<long> _usersCreated;
    private readonly Counter<long> _usersUpdated;
    private readonly Counter<long> _usersDeleted;
    private readonly Counter<long> _idempotentReplays;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _unavailable;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _usersCreated = meter.CreateCounter<long>("userfunctions.users.created", "{user}", "Users created.");
        _usersUpdated = meter.CreateCounter<long>("userfunctions.users.updated", "{user}", "Users replaced or patched.");
        _usersDeleted = meter.CreateCounter<long>("userfunctions.users.deleted", "{user}", "Users deleted.");
        _idempotentReplays = meter.CreateCounter<long>(
            "userfunctions.idempotent.replays", "{response}", "Writes answered from a stored response of the same Idempotency-Key.");
        _retries = meter.CreateCounter<long>(
            "userfunctions.db.retries", "{retry}", "Database operations run again after a transient failure.");
        _unavailable = meter.CreateCounter<long>(
            "userfunctions.http.unavailable", "{response}", "Answers 503, by cause.");
    }

    public void UserCreated() => _usersCreated.Add(1);

    public void UserUpdated() => _usersUpdated.Add(1);

    public void UserDeleted() => _usersDeleted.Add(1);

    public void IdempotentReplay() => _idempotentReplays.Add(1);

    public void Retry(string errorType) => _retries.Add(1, new KeyValuePair<string, object?>("error.type", errorType));

    public void Unavailable(string cause) => _unavailable.Add(1, new KeyValuePair<string, object?>(ApiTelemetry.CauseTag, cause));
}
