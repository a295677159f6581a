// Isolation (thesis §2.3.1, §4.1): a component that segfaults, aborts, exits, spins or dies
// while blocked harms nobody: the kernel survives, peers waiting on it get EDEADSRCDST, the
// exit is reported with its cause, and no host process is left behind.
using System.Collections.Concurrent;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Isolation;

public sealed class CrashTests
{
    public static TheoryData<string, int, int> Crashes() => new()
    {
        // command, ExitInfo.How, status (0 = any signal)
        { "crash null", ExitInfo.Signaled, 6 },      // NullReferenceException → unhandled → SIGABRT
        { "crash divzero", ExitInfo.Signaled, 6 },   // DivideByZeroException → SIGABRT
        { "crash segv", ExitInfo.Signaled, 11 },     // a real SIGSEGV
        { "crash wild", ExitInfo.Signaled, 0 },      // wild pointer: runtime FailFast or SIGSEGV
        { "crash abort", ExitInfo.Signaled, 6 },
        { "crash exit 3", ExitInfo.Exited, 3 },
    };

    [Theory]
    [MemberData(nameof(Crashes))]
    public void Crash_WhilePeerWaits_PeerGetsEdeadsrcdstAndKernelSurvives(string crash, int how, int status)
    {
        using var sys = new TestSystem();
        var exits = new ConcurrentQueue<ExitInfo>();
        sys.Kernel.KernelChildExited += e => exits.Enqueue(e);
        var victim = sys.StartPuppet("victim");
        var waiter = sys.StartPuppet("waiter");
        var sender = sys.StartPuppet("sender");
        int victimPid = sys.Find(victim.Endpoint)!.Value.HostPid;

        var recv = waiter.AskAsync($"recv {victim.Endpoint}");
        var send = sender.AskAsync($"send {victim.Endpoint} 1 1");
        TestSystem.WaitUntil(() => sys.Find(waiter.Endpoint)?.State == ProcState.Receiving
                                   && sys.Find(sender.Endpoint)?.State == ProcState.Sending, "peers blocked on the victim");
        _ = victim.AskAsync(crash);

        Assert.StartsWith("r EDEADSRCDST", Puppet.Await(recv));
        Assert.StartsWith("r EDEADSRCDST", Puppet.Await(send));
        TestSystem.WaitUntil(() => !exits.IsEmpty, "exit report");
        Assert.True(exits.TryDequeue(out var exit));
        Assert.Equal(victim.Endpoint, exit.Endpoint);
        Assert.Equal(how, exit.How == ExitInfo.Dumped ? ExitInfo.Signaled : exit.How);
        if (status != 0) Assert.Equal(status, exit.Status);
        Assert.False(HostProcess.Exists(victimPid));
        Assert.Null(sys.Find(victim.Endpoint));

        // The rest of the system goes on: peers talk to each other, a stale endpoint stays dead.
        var again = waiter.AskAsync($"recv {sender.Endpoint}");
        Assert.Equal("r OK", sender.Ask($"send {waiter.Endpoint} 5 6"));
        Assert.StartsWith($"r OK {sender.Endpoint} 5 6", Puppet.Await(again));
        Assert.StartsWith("r EDEADSRCDST", waiter.Ask($"send {victim.Endpoint} 1 1"));
    }

    [Fact]
    public void DeathWhileQueuedToSend_RemovesItsMessage()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var doomed = sys.StartPuppet("doomed");
        var honest = sys.StartPuppet("honest");
        _ = doomed.AskAsync($"send {server.Endpoint} 66 0");
        TestSystem.WaitUntil(() => sys.Find(doomed.Endpoint)?.State == ProcState.Sending, "doomed blocked in SEND");
        var honestSend = honest.AskAsync($"send {server.Endpoint} 77 0");
        TestSystem.WaitUntil(() => sys.Find(honest.Endpoint)?.State == ProcState.Sending, "honest blocked in SEND");
        Assert.Equal(0, sys.Kernel.Kill(doomed.Endpoint, 9));
        TestSystem.WaitUntil(() => sys.Find(doomed.Endpoint) is null, "doomed gone");
        Assert.StartsWith($"r OK {honest.Endpoint} 77", server.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(honestSend));
    }

    [Fact]
    public void DeathWhileReceiving_KernelKeepsServingOthers()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        _ = a.AskAsync("recv ANY");
        TestSystem.WaitUntil(() => sys.Find(a.Endpoint)?.State == ProcState.Receiving, "a receiving");
        Assert.Equal(0, sys.Kernel.Kill(a.Endpoint, 9));
        TestSystem.WaitUntil(() => sys.Find(a.Endpoint) is null, "a gone");
        Assert.StartsWith("r EDEADSRCDST", b.Ask($"send {a.Endpoint} 1 1"));
        Assert.StartsWith($"ep {b.Endpoint}", b.Ask("whoami"));
    }

    [Fact]
    public void Spin_ForeverWithoutTrapping_IsDemotedAndKillable()
    {
        using var sys = new TestSystem(quantumNs: 50_000_000);
        var spinner = sys.StartPuppet("spinner");
        int pid = sys.Find(spinner.Endpoint)!.Value.HostPid;
        Assert.Equal("r OK spinning", spinner.Ask("crash spin"));
        TestSystem.WaitUntil(() => sys.Find(spinner.Endpoint)?.Level >= 2, "spinner demoted");
        Assert.Equal(0, sys.Kernel.Kill(spinner.Endpoint, 9));
        TestSystem.WaitUntil(() => !HostProcess.Exists(pid), "spinner gone");
    }

    [Fact]
    public void Slot_ReusedAfterExit_GetsNewGeneration()
    {
        using var sys = new TestSystem(slots: 20);
        var seen = new Dictionary<int, int>(); // slot → endpoint
        for (int i = 0; i < 6; i++)
        {
            var p = sys.StartPuppet("gen" + i);
            int slot = Bulkhead.Lib.Ipc.Endpoint.Slot(p.Endpoint);
            if (seen.TryGetValue(slot, out int old))
            {
                Assert.NotEqual(old, p.Endpoint);
                Assert.Equal(0, (p.Endpoint - old) % Bulkhead.Lib.Ipc.Endpoint.GenerationSize);
                return;
            }
            seen[slot] = p.Endpoint;
            _ = p.AskAsync("crash exit 0");
            TestSystem.WaitUntil(() => sys.Find(p.Endpoint) is null, "exit");
        }
        Assert.Fail("no slot was reused in 6 spawns of a 4-slot dynamic range");
    }
}
