// CPU time (thesis §3.3.1): a driver spinning in a loop on the same CPU as everyone else is
// demoted and cannot starve the kernel or a well-behaved pair of processes; so is a driver that
// retries a denied kernel call in a tight loop (it traps all the time, but uses all the CPU the
// kernel leaves it); a process that does lots of blocking IPC is never demoted.
// Rules: no fixed sleeps — every expectation is polled with a generous deadline, and a level
// is only asserted where the process's behaviour pins it down whatever else the host runs:
// - a process's start-up (runtime, JIT) uses whole quanta and may get it demoted, so a test
//   waits until a new process is back at level 0 (WaitUntilSettled) before it counts on a level;
// - a demoted process goes up one level every second, so "still demoted" after some other work
//   is a race, and "demoted again once it has the CPU back" is not;
// - "demoted" holds on a busy host, "demoted all the way to SCHED_IDLE" may not (that takes a
//   quantum in which the spinner gets 80 % of the CPU at nice 19).
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Xunit.Abstractions;

namespace Bulkhead.Kernel.Tests.Isolation;

public sealed class SchedulingTests(ITestOutputHelper output)
{
    private const long QuantumNs = 50_000_000;
    private const int QuantumMs = (int)(QuantumNs / 1_000_000);
    private const string DeniedPort = "49152"; // 0xC000: an RTL8139 BAR, in no range of the driver's

    [Fact]
    public void Spinner_OnSameCpu_IsDemotedAndPairStillCompletes()
    {
        using var sys = new TestSystem(quantumNs: QuantumNs, cpuMask: 1, output: output);
        var spinner = sys.StartPuppet("spinner");
        WaitUntilSettled(sys, spinner);
        Assert.Equal("r OK spinning", spinner.Ask("crash spin"));
        var watch = Stopwatch.StartNew();
        TestSystem.WaitUntil(() => sys.Find(spinner.Endpoint)?.Level > 0, "spinner demoted");
        output.WriteLine($"spinner demoted after {watch.ElapsedMilliseconds} ms, at level {sys.Find(spinner.Endpoint)?.Level}");

        var server = sys.Start("server", "pingpong-server", TestSystem.Privileges(traps: Trap.MaskAll));
        WaitUntilSettled(sys, server);
        var client = sys.Start("client", "pingpong-client", TestSystem.Privileges(traps: Trap.MaskUser, targets: [server.Endpoint]),
                               server.Endpoint.ToString(CultureInfo.InvariantCulture), "2000");
        var rtt = client.ReadLineAsync();
        TestSystem.WaitUntil(() =>
        {
            int? level = sys.Find(server.Endpoint)?.Level;
            Assert.True(level == 0, $"the server blocks between requests and is never demoted (level {level})");
            return rtt.IsCompleted;
        }, "the pair's round trips", timeoutMs: 60_000);
        Assert.StartsWith("rtt ", rtt.Result);
        output.WriteLine($"pair done after {watch.ElapsedMilliseconds} ms, spinner at level {sys.Find(spinner.Endpoint)?.Level}");
        // It never stopped spinning: with the CPU to itself again it is (still, or once more) demoted.
        TestSystem.WaitUntil(() => sys.Find(spinner.Endpoint)?.Level > 0, "spinner demoted after the pair is done");
    }

    [Fact]
    public void DeniedKernelCallLoop_TrapsEveryCall_IsDemoted()
    {
        using var sys = new TestSystem(quantumNs: QuantumNs, cpuMask: 1, output: output);
        var driver = StartDeniedLoop(sys);
        var watch = Stopwatch.StartNew();
        TestSystem.WaitUntil(() => sys.Find(driver.Endpoint)?.Level > 0, "the denied-call loop demoted", timeoutMs: 20_000);
        var row = sys.Find(driver.Endpoint)!.Value;
        output.WriteLine($"demoted after {watch.ElapsedMilliseconds} ms and {row.Traps} traps");
        Assert.True(row.Traps > 1000, $"it trapped throughout ({row.Traps} traps)");
    }

    [Fact]
    public void SleeperWokenByNotifications_NextToDeniedCallLoop_IsNeverDemoted()
    {
        using var sys = new TestSystem(quantumNs: QuantumNs, cpuMask: 1, output: output);
        var sleeper = sys.Start("sleeper", "alarm-sleeper", TestSystem.Privileges(calls: [KernelCall.SetAlarm]), "1000");
        Assert.Equal("r OK sleeping", Puppet.Await(sleeper.ReadLineAsync()));
        WaitUntilSettled(sys, sleeper);
        var driver = StartDeniedLoop(sys);
        long trapsBefore = sys.Find(sleeper.Endpoint)!.Value.Traps;
        var watch = Stopwatch.StartNew();
        // Watch for at least 40 quanta, 1000 wakeups of the sleeper, and until the policy has
        // demoted its CPU-bound neighbour (so it was looking): the sleeper stays at level 0.
        TestSystem.WaitUntil(() =>
        {
            if (sys.Find(sleeper.Endpoint) is not { State: not ProcState.Zombie } row) throw new Xunit.Sdk.XunitException("the sleeper died");
            Assert.True(row.Level == 0, $"sleeper demoted to level {row.Level} after {watch.ElapsedMilliseconds} ms");
            return watch.ElapsedMilliseconds >= 40 * QuantumMs
                   && row.Traps - trapsBefore >= 2 * 1000 // SETALARM + RECEIVE per wakeup
                   && sys.Find(driver.Endpoint)?.Level > 0;
        }, "1000 wakeups of the sleeper and a demotion of the denied-call loop", timeoutMs: 30_000);
    }

    /// <summary>The thesis's RTL8139 case: a driver reading a port it has no privilege for, in a
    /// tight loop, every call refused with EPERM. Returns once the loop runs, its start-up
    /// demotion (if any) undone.</summary>
    private Puppet StartDeniedLoop(TestSystem sys)
    {
        var driver = sys.Start("rtl8139", "denied-io", TestSystem.Privileges(calls: [KernelCall.DevIo]), DeniedPort);
        Assert.Equal("ready", Puppet.Await(driver.ReadLineAsync()));
        WaitUntilSettled(sys, driver);
        Assert.Equal("r EPERM spinning", driver.Ask("go"));
        return driver;
    }

    /// <summary>Waits until a process that has finished starting (it answered, and is blocked
    /// or nearly idle now) has been at level 0 for five quanta in a row: the ticks after its
    /// start-up have judged it, and any demotion for the start-up has been undone.</summary>
    private void WaitUntilSettled(TestSystem sys, Puppet who)
    {
        var watch = Stopwatch.StartNew();
        var atZero = Stopwatch.StartNew();
        TestSystem.WaitUntil(() =>
        {
            if (sys.Find(who.Endpoint)?.Level != 0) atZero.Restart();
            return atZero.ElapsedMilliseconds >= 5 * QuantumMs;
        }, $"{who.Name} back at level 0 after its start-up");
        output.WriteLine($"{who.Name} settled at level 0 after {watch.ElapsedMilliseconds} ms");
    }
}
