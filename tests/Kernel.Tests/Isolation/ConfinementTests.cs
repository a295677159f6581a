// Host confinement (docs/confinement.md): a hostile component written in C, not using the
// component library (tests/Components/Escape/escape.c, bulkhead-escape), tries more than forty
// ways out of its jail — host files, sockets of every family, signals and ptrace of the kernel
// and its peers, /proc/PID/mem, process creation and exec, mounts and namespaces, I/O ports,
// reboot, uid changes, raised limits, executable and shared memory, a reopened kernel page,
// kernel interfaces, a memory bomb and a thread bomb. Every attempt must fail; the refused
// host calls are counted in the denial table; the kernel, RS and a SENDREC pair of other
// components go on working; a canary file and a canary host process are untouched. A seeded
// loop of a million random system calls from inside a component must change nothing outside it:
// every call that succeeded is on the allowlist, the canaries hold, and the kernel's memory
// stays bounded. (The C# side of the same attack is the hostile driver's host section,
// HostileDriver.cs, run by HostileStatsTests.)
using System.Diagnostics;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Xunit.Abstractions;

namespace Bulkhead.Kernel.Tests.Isolation;

public sealed unsafe class ConfinementTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Escape = Path.Combine(AppContext.BaseDirectory, "bulkhead-escape");
    private readonly string _canary = Path.Combine(Path.GetTempPath(), $"bulkhead-canary-{Guid.NewGuid():N}");
    private const string CanaryText = "canary: nobody may read, change or delete this\n";
    private Process? _canaryProcess;

    public void Dispose()
    {
        File.Delete(_canary);
        if (_canaryProcess is { } p)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
    }

    /// <summary>A root-only file and a host process that must survive everything.</summary>
    private int Canaries()
    {
        File.WriteAllText(_canary, CanaryText);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(_canary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _canaryProcess = Process.Start(new ProcessStartInfo(Escape, "hold") { UseShellExecute = false, RedirectStandardOutput = true })!;
        Assert.Equal("ready", _canaryProcess.StandardOutput.ReadLine());
        return _canaryProcess.Id;
    }

    private void CanariesHold(int canaryPid)
    {
        Assert.Equal(CanaryText, File.ReadAllText(_canary));
        Assert.True(HostProcess.Exists(canaryPid), "the canary host process was killed");
    }

    /// <summary>Starts bulkhead-escape as a component with the narrowest policy there is (SEND
    /// and RECEIVE to DS only) and its stdout on a pipe.</summary>
    private static (int Endpoint, StreamReader Out) StartEscape(Kernel kernel, params string[] args)
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Native.pipe2(fds, Native.O_CLOEXEC));
        var priv = TestSystem.Privileges(traps: Trap.Bit(Trap.Send) | Trap.Bit(Trap.Receive), targets: [Endpoint.Ds]);
        int ep = kernel.Spawn(new ProcessSpec { Name = "escape", Path = Escape, Args = args, Privileges = priv, StdoutFd = fds[1] });
        Native.close(fds[1]);
        Assert.True(ep >= 0, $"spawn escape failed: {ep}");
        var reader = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fds[0], true), FileAccess.Read));
        return (ep, reader);
    }

    /// <summary>Reads lines until one starts with <paramref name="prefix"/>; every line read.</summary>
    private List<string> ReadUntil(StreamReader r, string prefix, int timeoutMs)
    {
        var lines = new List<string>();
        var task = Task.Run(() =>
        {
            while (r.ReadLine() is { } line)
            {
                lock (lines) lines.Add(line);
                if (line.StartsWith(prefix, StringComparison.Ordinal)) return true;
            }
            return false;
        });
        bool ended = task.Wait(timeoutMs) && task.Result;
        lock (lines)
        {
            foreach (var l in lines) output.WriteLine(l);
            Assert.True(ended, $"no '{prefix}' line within {timeoutMs} ms");
            return [.. lines];
        }
    }

    private static long HostDenials(Kernel kernel) => kernel.Denials()[(int)Denial.HostCallNotAllowed];

    [Fact]
    public void HostileCComponent_EveryWayOutFails_IsCounted_AndNobodyElseNotices()
    {
        int canaryPid = Canaries();
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        var before = rs.Sys.Kernel.ProcessTable().Where(p => p.State != ProcState.Zombie).ToDictionary(p => p.Endpoint, p => p.HostPid);
        int peerPid = before[drv];
        long deniedBefore = HostDenials(rs.Sys.Kernel);

        var (ep, reader) = StartEscape(rs.Sys.Kernel, "probes", _canary, canaryPid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                       peerPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var lines = ReadUntil(reader, "done ", 120_000);
        var probes = lines.Where(l => l.StartsWith("probe ", StringComparison.Ordinal)).Select(l => l.Split(' ', 4)).ToList();
        var escaped = probes.Where(p => p[2] != "blocked").Select(p => string.Join(' ', p)).ToList();
        Assert.True(escaped.Count == 0, "ways out that worked:\n" + string.Join('\n', escaped));
        Assert.True(probes.Count >= 30, $"only {probes.Count} probes ran");
        Assert.Equal($"done {probes.Count} 0", lines[^1]);

        // The refused host calls were counted, against the prober.
        long counted = HostDenials(rs.Sys.Kernel) - deniedBefore;
        Assert.True(counted >= 25, $"only {counted} host calls counted");
        // Against the prober (which has exited by now, so its row is gone): the kernel's log names it.
        Assert.True(rs.Sys.Console.Has($"kernel: denied escape ({ep}): host system call not allowed"), rs.Console());

        // Nobody else noticed: the same processes with the same pids, RS and a SENDREC pair working.
        foreach (var (endpoint, pid) in before)
            Assert.True(rs.Sys.Find(endpoint) is { HostPid: var now } && now == pid && HostProcess.Exists(pid), $"endpoint {endpoint} changed");
        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {drv} read"));
        Assert.Equal("running", rs.Row("testdrv")[2]);
        CanariesHold(canaryPid);
    }

    [Fact]
    public void MillionRandomSyscalls_OnlyAllowedCallsSucceed_NothingOutsideChanges_KernelMemoryBounded()
    {
        int canaryPid = Canaries();
        using var sys = new TestSystem(output: output);
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var allowed = SeccompFilter.Allowed.Select(r => Syscalls.Number(r.Name)).ToHashSet();
        GC.Collect();
        long memBefore = Process.GetCurrentProcess().WorkingSet64;
        const int Seed = 20261205;
        output.WriteLine($"seed {Seed}");
        var (_, reader) = StartEscape(sys.Kernel, "fuzz", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000000");
        var lines = ReadUntil(reader, "fuzz errnos", 600_000);

        string done = lines.Single(l => l.StartsWith("fuzz done ", StringComparison.Ordinal));
        Assert.StartsWith("fuzz done 1000000 ", done);
        // Every call that succeeded is one the allowlist gives (x32 and garbage-high numbers
        // must never succeed at all).
        string okLine = lines.Single(l => l.StartsWith("fuzz ok-calls", StringComparison.Ordinal));
        foreach (var item in okLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2))
        {
            string nr = item.Split(':')[0];
            Assert.True(int.TryParse(nr, out int n) && allowed.Contains(n), $"call {nr} ({(int.TryParse(nr, out n) ? Syscalls.Name(n) : nr)}) succeeded outside the allowlist: {okLine}");
        }
        Assert.True(sys.Kernel.Denials()[(int)Denial.HostCallNotAllowed] > 100_000, "the refused calls were not counted");

        // Nothing outside changed, and the kernel still serves the others.
        CanariesHold(canaryPid);
        Assert.StartsWith("ep ", a.Ask("whoami"));
        Assert.StartsWith("ep ", b.Ask("whoami"));
        GC.Collect();
        long grown = Process.GetCurrentProcess().WorkingSet64 - memBefore;
        Assert.True(grown < 64L << 20, $"the kernel grew by {grown >> 20} MiB over a million refused calls");
    }
}
