// CPU time (thesis §3.3.1): a multilevel-feedback policy on top of the host scheduler. The rule,
// applied at the end of every quantum to every live process (at its first quantum only its
// clocks are sampled):
//   used   = CPU time of the process in the quantum (its host CPU clock: all its threads, user
//            and system time; the kernel's own work is on the kernel's clock, not on this one);
//   served = the kernel thread's CPU time in the quantum, shared among the processes in
//            proportion to the traps each made in it, and at most MaxServedPerTrapNs per trap:
//            an estimate of how long the kernel spent serving this process's own calls, time
//            during which the process waits and cannot run;
//   demote one level if used >= 80 % of (quantum - served).
// So a process that computes through (nearly) its whole quantum is demoted whether it trapped
// or not, and whether or not it is inside a call when the quantum ends: a driver retrying a
// denied kernel call in a tight loop (the thesis's RTL8139, 1.75 million times) uses all the
// CPU the kernel leaves it and goes down like a plain spinner. A process that sleeps in RECEIVE
// or waits for a reply uses no CPU meanwhile, so however much IPC it does it stays where it is.
// Every PromoteNs all demoted processes that were not demoted in that quantum go up one level,
// so a process whose behaviour changes is not penalized for long. Levels map to host
// priorities, the last one to SCHED_IDLE, so a driver spinning in a loop cannot starve the
// kernel or the servers even on the same CPU.
// Limit: the rule counts CPU used, not CPU wanted; a spinner sharing its CPU with another
// CPU-bound host process gets only a share of it and is not demoted meanwhile.
using Bulkhead.Lib.Host;

namespace Bulkhead.Kernel;

public sealed unsafe partial class Kernel
{
    private static readonly int[] s_levelNice = [0, 5, 10, 19];
    public const int MaxLevel = 4; // index 4 = SCHED_IDLE

    /// <summary>Most kernel time one trap is taken to cost the caller: a trap is served in
    /// microseconds, so kernel work that is not trap service (spawns, alarms, control
    /// requests) cannot make a process that trapped a few times look as if it had no time to run.</summary>
    private const long MaxServedPerTrapNs = 100_000;
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    private long _lastTickNs;
    private long _lastPromoteNs;
    private long _kernelCpuAtTick;
    private long[]? _trapsAtTick; // per slot: Proc.Traps at the last tick

    /// <summary>Runs on the kernel thread once per quantum (the rule is in the header).</summary>
    private void SchedulerTick(long now)
    {
        long interval = _lastTickNs == 0 ? _opt.QuantumNs : now - _lastTickNs;
        _lastTickNs = now;
        bool promote = now - _lastPromoteNs >= _opt.PromoteNs;
        if (promote) _lastPromoteNs = now;
        long kernelCpu = KernelThreadCpuNs();
        long kernelUsed = _kernelCpuAtTick == 0 ? 0 : Math.Max(kernelCpu - _kernelCpuAtTick, 0);
        _kernelCpuAtTick = kernelCpu;

        var trapsAtTick = _trapsAtTick ??= new long[_procs.Length];
        long allTraps = 0;
        foreach (var p in _procs)
            if (p.Alive && p.CpuAtTick > 0) allTraps += p.Traps - trapsAtTick[p.Slot];

        foreach (var p in _procs)
        {
            if (!p.Alive) continue;
            long cpu = Native.ProcessCpuNs(p.HostPid);
            // Not sampled: its first tick (a fresh process, or a reused slot), or its clock is gone.
            bool sampled = p.CpuAtTick > 0 && cpu >= p.CpuAtTick;
            long used = sampled ? cpu - p.CpuAtTick : 0;
            long traps = sampled ? p.Traps - trapsAtTick[p.Slot] : 0;
            p.CpuAtTick = Math.Max(cpu, 0);
            trapsAtTick[p.Slot] = p.Traps;
            long served = allTraps == 0 ? 0 : Math.Min(kernelUsed * traps / allTraps, traps * MaxServedPerTrapNs);
            if (sampled && used >= (interval - served) * 8 / 10 && p.Level < MaxLevel)
                SetLevel(p, p.Level + 1);
            else if (promote && p.Level > 0)
                SetLevel(p, p.Level - 1);
        }
    }

    private static long KernelThreadCpuNs()
    {
        Native.Timespec ts;
        return Native.clock_gettime(ClockThreadCpuTime, &ts) == 0 ? ts.Sec * 1_000_000_000 + ts.Nsec : 0;
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
