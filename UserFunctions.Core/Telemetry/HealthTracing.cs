using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace UserFunctions.Core.Telemetry;

/// <summary>
/// Health probes are not traced unless <c>Telemetry:TraceHealth</c> is true: a probe every few seconds would fill the traces
/// with spans nobody reads. Each host drops the spans of a probe (ASP.NET Core's through its instrumentation's filter, the
/// Functions worker's invocation span through <see cref="Untrace"/>).
/// </summary>
public static class HealthTracing
{
    public const string Setting = "Telemetry:TraceHealth";

    public static bool Enabled(IConfiguration configuration) => configuration.GetValue(Setting, defaultValue: false);

    /// <summary>
    /// Drops a span already started, the way ASP.NET Core's instrumentation drops a filtered request: the SDK hands a span
    /// without <see cref="Activity.IsAllDataRequested"/> to no processor when it stops, and the batch exporter skips one that is
    /// not <see cref="ActivityTraceFlags.Recorded"/>. Spans started under it are not sampled either (the default sampler
    /// follows the parent).
    /// </summary>
    public static void Untrace(Activity? activity)
    {
        if (activity is null)
        {
            return;
        }

        activity.IsAllDataRequested = false;
        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
    }
}
