// The `system` section of boot.conf: procs, arena, cpus, quantum (see SystemSettings for
// ranges). Each key may appear once.
using Bulkhead.Lib.Config;

namespace Bulkhead.Kernel.Boot;

internal sealed partial class BootParser
{
    private static readonly HashSet<string> SystemKeys = ["procs", "arena", "cpus", "quantum"];

    private readonly HashSet<string> _systemSeen = [];

    private void SystemStatement(SystemSettings s, List<ConfigToken> stmt)
    {
        var key = stmt[0];
        if (!SystemKeys.Contains(key.Text)) throw Error(key.Line, $"unknown key '{key.Text}' in system");
        if (!_systemSeen.Add(key.Text)) throw Error(key.Line, $"duplicate '{key.Text}' in system");
        switch (key.Text)
        {
            case "procs":
                Arity(stmt, 1, "one number (process table slots)");
                s.ProcSlots = Number(stmt[1], "procs", SystemSettings.MinProcs, SystemSettings.MaxProcs);
                break;
            case "arena":
                Arity(stmt, 1, "one number (KiB)");
                s.ArenaKiB = Number(stmt[1], "arena", SystemSettings.MinArenaKiB, SystemSettings.MaxArenaKiB);
                break;
            case "quantum":
                Arity(stmt, 1, "one number (ms)");
                s.QuantumMs = Number(stmt[1], "quantum", SystemSettings.MinQuantumMs, SystemSettings.MaxQuantumMs);
                break;
            case "cpus":
                Arity(stmt, 1, "a CPU list (\"0\", \"0,1\", \"0-3\") or 'all'");
                s.CpuMask = CpuList(stmt[1]);
                break;
        }
    }

    /// <summary>"all" → 0 (unpinned); otherwise comma-separated CPUs or ranges, each 0..63.</summary>
    private ulong CpuList(ConfigToken t)
    {
        if (t.Text == "all") return 0;
        ulong mask = 0;
        foreach (var part in t.Text.Split(','))
        {
            var ends = part.Split('-');
            if (ends.Length > 2) throw Error(t.Line, $"bad CPU list {t.Shown}");
            int lo = Number(t with { Text = ends[0] }, "a CPU", 0, 63);
            int hi = ends.Length == 2 ? Number(t with { Text = ends[1] }, "a CPU", 0, 63) : lo;
            if (hi < lo) throw Error(t.Line, $"bad CPU range '{part}'");
            for (int c = lo; c <= hi; c++) mask |= 1UL << c;
        }
        return mask;
    }
}
