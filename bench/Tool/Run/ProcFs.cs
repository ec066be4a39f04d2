using System.Globalization;

namespace UserFunctions.Bench.Tool.Run;

/// <summary>CPU and memory of processes and of the machine, from /proc.</summary>
internal static class ProcFs
{
    /// <summary>Clock ticks per second of /proc's CPU times (USER_HZ: 100 on x86-64 and arm64 Linux).</summary>
    public const double TicksPerSecond = 100;

    public static int Cores { get; } = Environment.ProcessorCount;

    /// <summary>User + system CPU ticks of these processes (0 for one that is gone).</summary>
    public static long Ticks(IEnumerable<int> pids) => pids.Sum(pid => Stat(pid) is { } s ? s.User + s.System : 0);

    /// <summary>
    /// User + system CPU ticks of this process's children that have exited and been waited for (cutime + cstime): the CPU
    /// of a child that ran in between two samples, such as one wrk run.
    /// </summary>
    public static long ReapedChildrenTicks() => Stat(Environment.ProcessId) is { } s ? s.ReapedChildren : 0;

    /// <summary>
    /// All CPU a server with worker processes (PostgreSQL) has used so far: its own and its reaped children's, plus its
    /// live children's. A child that exits between two samples moves from the second term to the first, so differences hold.
    /// </summary>
    public static long TreeTicks(int pid) =>
        Stat(pid) is { } s ? s.User + s.System + s.ReapedChildren + Ticks(ChildrenOf(pid)) : 0;

    /// <summary>user + nice + system of the whole machine: irq, softirq (loopback networking) and steal belong to no process.</summary>
    public static long BusyTicks()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(cpu[1], CultureInfo.InvariantCulture) + long.Parse(cpu[2], CultureInfo.InvariantCulture)
            + long.Parse(cpu[3], CultureInfo.InvariantCulture);
    }

    /// <summary>A kB figure of /proc/[pid]/status (VmRSS, VmHWM, RssAnon, RssFile).</summary>
    public static long StatusKb(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    public static IReadOnlyList<int> ChildrenOf(int pid)
    {
        try
        {
            return [.. Directory.GetDirectories($"/proc/{pid}/task")
                .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Select(child => int.Parse(child, CultureInfo.InvariantCulture))];
        }
        catch (IOException)
        {
            return [];
        }
    }

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static (long User, long System, long ReapedChildren)? Stat(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        // Fields 14-17 (utime, stime, cutime, cstime); the command name (field 2) may hold spaces, so count from its ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return (Field(14), Field(15), Field(16) + Field(17));
    }
}
