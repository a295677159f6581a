// Shared helpers for the IPC conformance tests: wait until the kernel shows a process blocked
// in a given way (so every test orders its steps through the kernel's own state, not sleeps),
// wait until a process is gone, and check notification answers exactly.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Ipc;

internal static class IpcKit
{
    /// <summary>The IPC classes run one after another: each test starts several host processes.</summary>
    public const string Collection = "Ipc";

    public const int NotifyType = 4096;

    /// <summary>Waits until <paramref name="p"/> is blocked in <paramref name="state"/> on <paramref name="on"/>.</summary>
    public static void Blocked(TestSystem sys, Puppet p, ProcState state, int on) =>
        TestSystem.WaitUntil(() => sys.Find(p.Endpoint) is { } i && i.State == state && i.BlockedOn == on,
            $"{p.Name} blocked {state} on {on}", 10_000);

    /// <summary>Waits until <paramref name="endpoint"/> is dead (gone or zombie).</summary>
    public static void Gone(TestSystem sys, int endpoint) =>
        TestSystem.WaitUntil(() => sys.Find(endpoint) is not { } i || i.State == ProcState.Zombie,
            $"{endpoint} to die", 10_000);

    /// <summary>Makes <paramref name="p"/> exit and waits until the kernel has retired it.</summary>
    public static void Exit(TestSystem sys, Puppet p, int status = 0)
    {
        var t = p.AskAsync($"crash exit {status}");
        Gone(sys, p.Endpoint);
        Assert.Equal("<eof>", Puppet.Await(t));
    }

    /// <summary>The call behind <paramref name="t"/> has not returned (it is still blocked).</summary>
    public static void StillBlocked(Task<string> t, int ms = 150) =>
        Assert.False(t.Wait(ms), "call returned while it should still be blocked: " + (t.IsCompleted ? t.Result : ""));

    /// <summary>Privileges with every primitive but no send-to-all: only the listed targets.</summary>
    public static PrivilegeBlock Only(params int[] targets) => TestSystem.Privileges(targets: targets);

    /// <summary>Asserts a RECEIVE answer is a notification from <paramref name="source"/>.</summary>
    public static void IsNotify(string answer, int source)
    {
        var f = answer.Split(' ');
        Assert.True(f.Length == 7, "not a message answer: " + answer);
        Assert.Equal(["r", "OK", source.ToString(), NotifyType.ToString()], f[..4]);
        Assert.True(long.Parse(f[4]) > 0, "notification without timestamp: " + answer);
        Assert.Equal(["0", "0"], f[5..]);
    }

    public static string Msg(int source, int type, long a = 0) => $"r OK {source} {type} {a} 0 0";

    /// <summary>The next thing <paramref name="target"/> receives is a plain message from <paramref name="by"/>:
    /// nothing else (no notification, no asynchronous message) was pending.</summary>
    public static void NothingElsePending(TestSystem sys, Puppet target, Puppet by)
    {
        var send = by.AskAsync($"send {target.Endpoint} 77 1");
        Blocked(sys, by, ProcState.Sending, target.Endpoint);
        Assert.Equal(Msg(by.Endpoint, 77, 1), target.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }
}
