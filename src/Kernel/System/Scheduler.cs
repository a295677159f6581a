// CPU time (thesis §3.3.1): a multilevel-feedback policy on top of the host scheduler. Every
// quantum the kernel looks at each process that did not trap during the quantum; if it used
// (nearly) the whole quantum of CPU it is demoted one level. Every PromoteNs all demoted
// processes go up one level again, so a process whose behaviour changes is not penalized for
// long. Levels map to host priorities, the last one to SCHED_IDLE, so a driver spinning in a
// loop cannot starve the kernel or the servers even on the same CPU.
using Bulkhead.Lib.Host;

namespace Bulkhead.Kernel;

public sealed unsafe partial class Kernel
{
    private static readonly int[] s_levelNice = [0, 5, 10, 19];
    public const int MaxLevel = 4; // index 4 = SCHED_IDLE

    private long _lastTickNs;
    private long _lastPromoteNs;

    private void SchedulerTick(long now)
    {
        long interval = _lastTickNs == 0 ? _opt.QuantumNs : now - _lastTickNs;
        _lastTickNs = now;
        bool promote = now - _lastPromoteNs >= _opt.PromoteNs;
        if (promote) _lastPromoteNs = now;
        foreach (var p in _procs)
        {
            if (!p.Alive) continue;
            long cpu = Native.ProcessCpuNs(p.HostPid);
            long used = p.CpuAtTick == 0 ? 0 : cpu - p.CpuAtTick;
            p.CpuAtTick = cpu;
            bool trapped = p.TrappedSinceTick;
            p.TrappedSinceTick = false;
            if (!trapped && !p.InCall && used >= interval * 8 / 10 && p.Level < MaxLevel)
                SetLevel(p, p.Level + 1);
            else if (promote && p.Level > 0)
                SetLevel(p, p.Level - 1);
        }
    }

    private void SetLevel(Proc p, int level)
    {
        bool wasIdle = p.Level == MaxLevel;
        p.Level = level;
        string taskDir = $"/proc/{p.HostPid}/task";
        string[] tids;
        try { tids = Directory.GetDirectories(taskDir); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (var dir in tids)
        {
            if (!int.TryParse(Path.GetFileName(dir), out int tid)) continue;
            int param = 0;
            if (level == MaxLevel)
            {
                Native.sched_setscheduler(tid, Native.SCHED_IDLE, &param);
            }
            else
            {
                if (wasIdle) Native.sched_setscheduler(tid, Native.SCHED_OTHER, &param);
                Native.setpriority(Native.PRIO_PROCESS, tid, s_levelNice[level]);
            }
        }
    }
}
