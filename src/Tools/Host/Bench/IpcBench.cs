// `bulkhead bench ipc [--json] [--n N]`: the IPC round trip through the kernel against the
// host's own limit, measured in one run (issue: ratio = sendrec_rtt_ns / raw_futex_rtt_ns).
//   raw_futex_rtt_ns   two plain processes ping-ponging on a futex; best of "both on one CPU"
//                      and "unpinned";
//   sendrec_rtt_ns     bench-client → kernel → bench-server → kernel → bench-client, with the
//                      kernel's loop thread and both components on one CPU (the placement
//                      Bulkhead uses by default, see docs/kernel.md); the unpinned figure is
//                      reported beside it;
//   notify_latency_ns  from NOTIFY in one component to the wakeup of the receiver;
//   confinement_cost   sendrec_rtt_ns over the same round trip with unconfined components
//                      (docs/confinement.md; the goal is at most 1.05).
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Kernel;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Bench;

public static partial class BenchRegistry
{
    static partial void RegisterMore(Dictionary<string, Func<string[], int>> d)
    {
        d["ipc"] = IpcBench.Run;
        d["restart"] = RestartBench.Run;
        d["net"] = NetBench.Run;
        d["netrecovery"] = NetRecoveryBench.Run;
        d["tcp"] = TcpBench.Run;
        d["disk"] = DiskBench.Run;
        d["filter"] = FilterBench.Run;
    }
}

internal static class IpcBench
{
    /// <summary>The NativeAOT image when the launcher built one (BULKHEAD_IMAGE), else the JIT one.</summary>
    private static string Image =>
        Environment.GetEnvironmentVariable("BULKHEAD_IMAGE") is { Length: > 0 } aot && File.Exists(aot) ? aot
            : Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 20_000);
        var futexOne = Futex(cpu: 0, n);
        var futexAny = Futex(cpu: -1, n);
        var pinned = KernelRun(cpuMask: 1, n);
        var unpinned = KernelRun(cpuMask: 0, n);
        var unconfined = KernelRun(cpuMask: 1, n, confined: false);
        long raw = Math.Min(futexOne.Median, futexAny.Median);
        var r = new (string Key, object Value)[]
        {
            ("sendrec_rtt_ns", pinned.Rtt.Median),
            ("sendrec_rtt_p99_ns", pinned.Rtt.P99),
            ("sendrec_rtt_unpinned_ns", unpinned.Rtt.Median),
            ("notify_latency_ns", pinned.Notify.Median),
            ("notify_latency_unpinned_ns", unpinned.Notify.Median),
            ("sendrec_rtt_unconfined_ns", unconfined.Rtt.Median),
            ("confinement_cost", Math.Round((double)pinned.Rtt.Median / unconfined.Rtt.Median, 3)),
            ("raw_futex_rtt_ns", raw),
            ("raw_futex_rtt_one_cpu_ns", futexOne.Median),
            ("raw_futex_rtt_unpinned_ns", futexAny.Median),
            ("ratio", Math.Round((double)pinned.Rtt.Median / raw, 2)),
            ("ratio_unpinned", Math.Round((double)unpinned.Rtt.Median / raw, 2)),
            ("iterations", n),
            ("components", Image.Contains("/aot/", StringComparison.Ordinal) ? "\"nativeaot\"" : "\"jit\""),
            ("cpus", Environment.ProcessorCount),
        };
        BenchHost.Print(json, r, doubleFormat: "0.00", keyWidth: 28);
        return 0;
    }

    private readonly record struct Sample(long Median, long P99);

    private static Sample Parse(string line, string tag)
    {
        var w = line.Split(' ');
        if (w.Length < 3 || w[0] != tag) throw new InvalidOperationException($"benchmark component said '{line}'");
        return new Sample(long.Parse(w[1], CultureInfo.InvariantCulture), long.Parse(w[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Plain futex ping-pong between two host processes (no kernel involved).</summary>
    private static Sample Futex(int cpu, int n)
    {
        int fd = Native.memfd_create("bulkhead-futex-bench", 0); // inherited by both peers
        Native.ftruncate(fd, 4096);
        try
        {
            string a = $"{fd} {cpu} {n}";
            using var server = Process.Start(new ProcessStartInfo(Image, $"futex-peer server {a}") { UseShellExecute = false })!;
            using var client = Process.Start(new ProcessStartInfo(Image, $"futex-peer client {a}") { UseShellExecute = false, RedirectStandardOutput = true })!;
            string line = client.StandardOutput.ReadLine() ?? "";
            client.WaitForExit();
            server.WaitForExit();
            return Parse(line, "futex");
        }
        finally
        {
            Native.close(fd);
        }
    }

    /// <summary>SENDREC and NOTIFY through a kernel; <paramref name="confined"/> false runs the
    /// components without host confinement, only for the comparison (a booted system never is).</summary>
    private static (Sample Rtt, Sample Notify) KernelRun(ulong cpuMask, int n, bool confined = true)
    {
        string root = Path.GetFullPath(Path.Combine(global::System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        using var kernel = new Kernel.Kernel(new KernelOptions
        {
            ProcSlots = 32,
            CpuMask = cpuMask,
            Console = TextWriter.Null,
            Environment = new Dictionary<string, string> { ["DOTNET_ROOT"] = root },
            Confinement = BenchHost.Jail(Image, confined),
        });
        int server = BenchHost.Spawn(kernel, Image, "bench-server", Priv(Trap.MaskAll), out _);
        BenchHost.Spawn(kernel, Image, "bench-client", Priv(Trap.MaskUser, server), out var clientOut, server.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture));
        var rtt = Parse(clientOut.ReadLine() ?? "", "rtt");
        int sink = BenchHost.Spawn(kernel, Image, "bench-notify-sink", Priv(Trap.MaskAll), out var sinkOut, n.ToString(CultureInfo.InvariantCulture));
        BenchHost.Spawn(kernel, Image, "bench-notifier", Priv(Trap.Bit(Trap.Notify) | Trap.Bit(Trap.SendRec), sink), out _, sink.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture));
        var notify = Parse(sinkOut.ReadLine() ?? "", "notify");
        return (rtt, notify);
    }

    private static PrivilegeBlock Priv(uint traps, int target = -1)
    {
        var p = new PrivilegeBlock { TrapMask = traps };
        if (target >= 0) p.AddTarget(target);
        return p;
    }
}
