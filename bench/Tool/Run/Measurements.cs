using System.Text.Json;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>One measured wrk window of one server (slot "a" is ours, "b" the yardstick): a line of load.jsonl.</summary>
internal sealed record LoadRound(
    string Suite,
    string Target,
    string Scenario,
    int Round,
    double ServerCpuS,
    IReadOnlyList<double> ServerCpuPartsS,
    double DatabaseCpuS,
    double WrkCpuS,
    double ForeignCpuPct,
    long RssKb,
    long HwmKb,
    WrkResult Wrk);

/// <summary>Seconds waited for the machine to quiet down before a scenario: a line of quiet.jsonl.</summary>
internal sealed record QuietWait(string Suite, string Scenario, int QuietWaitS);

/// <summary>What a server's resident set is made of at the end of its load: a line of memory.jsonl.</summary>
internal sealed record MemorySample(string Suite, string Target, long HwmKb, long RssKb, long RssAnonKb, long RssFileKb);

/// <summary>One cold start of one server: a line of coldstart.jsonl.</summary>
internal sealed record ColdStartRun(string Suite, string Target, int Run, ColdStartResult Result);

/// <summary>Everything one run measured, each line also appended to its file in the run's folder as it comes.</summary>
internal sealed class Measurements(string folder)
{
    public List<LoadRound> Load { get; } = [];
    public List<QuietWait> Quiet { get; } = [];
    public List<MemorySample> Memory { get; } = [];
    public List<ColdStartRun> ColdStarts { get; } = [];

    public void Add(LoadRound round) => Record(Load, round, "load.jsonl");

    public void Add(QuietWait wait) => Record(Quiet, wait, "quiet.jsonl");

    public void Add(MemorySample sample) => Record(Memory, sample, "memory.jsonl");

    public void Add(ColdStartRun run) => Record(ColdStarts, run, "coldstart.jsonl");

    /// <summary>The measurements of a past run, from the lines in its folder.</summary>
    public static Measurements Read(string folder)
    {
        var measured = new Measurements(folder);
        List<T> Lines<T>(string file) => File.Exists(Path.Combine(folder, file))
            ? [.. File.ReadLines(Path.Combine(folder, file)).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<T>(l, Json.Options)!)]
            : [];
        measured.Load.AddRange(Lines<LoadRound>("load.jsonl"));
        measured.Quiet.AddRange(Lines<QuietWait>("quiet.jsonl"));
        measured.Memory.AddRange(Lines<MemorySample>("memory.jsonl"));
        measured.ColdStarts.AddRange(Lines<ColdStartRun>("coldstart.jsonl"));
        return measured;
    }

    private void Record<T>(List<T> list, T item, string file)
    {
        list.Add(item);
        File.AppendAllText(Path.Combine(folder, file), JsonSerializer.Serialize(item, Json.Options) + "\n");
    }
}
