using System.Text.Json;

namespace UserFunctions.Bench.Tool.Run;

internal static class Json
{
    /// <summary>snake_case names, one line per value: the raw measurement files (*.jsonl) and wrk's result line.</summary>
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The same, indented: bench/results/latest.json.</summary>
    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
