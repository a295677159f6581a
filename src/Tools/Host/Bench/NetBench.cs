// `bulkhead bench net [--json] [--n N]`: what one frame costs through an isolated network
// driver, for both drivers in the same run, and their ratio (programmed I/O through VDEVIO
// against DMA through the IOMMU). One machine (BenchHost.Testbed on a Bulkhead.Machine.Board)
// carries both cards as etc/boot.conf puts them: the NE2000 at 0x300, IRQ 9, and the RTL8139 at
// PCI 00:03.0, I/O 0xC000, IRQ 11, behind the IOMMU. Each card's backend is one side of a PeerBackend pair whose
// far side echoes every frame back with the MACs swapped, from its own callback (so the echo is
// in the card before the driver has answered the Write). A kernel pinned to CPU 0 runs PM, DS,
// RS and the trusted PCI-bus and IOMMU drivers (privileges as in boot.conf) from the NativeAOT
// image, and the client component Bulkhead.Bench.NetClient, which has RS start dp8390 and
// rtl8139 under their etc/drivers.conf policies and does the round trips.
//   <driver>_rtt_ns_<size>      median of post Read → Write → Read answered, 64- and 1514-byte
//                               frames (p99 beside it), N each after a warm-up;
//   <driver>_write_ns_<size>    its first part, up to the Write's answer (transmit; the rest is
//                               the receive path);
//   <driver>_fps_<size>         round trips per second of the client's loop (a frame out and
//                               its echo in);
//   <driver>_driver_traps_<size>, <driver>_{driver,client,kernel}_cpu_ns_<size>
//                               per round trip: the driver's traps, and CPU time of the driver,
//                               the client and the kernel process (its loop thread and the
//                               device models it runs);
//   ratio_rtl8139_dp8390_<size> rtl8139 median / dp8390 median, measured in this run.
// The four series run interleaved in blocks so that drift on a noisy machine hits them alike.
// Everything the run started is stopped when it returns (the kernel's Dispose).
using System.Globalization;
using Bulkhead.Kernel;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Net;

namespace Bulkhead.Host.Bench;

internal static class NetBench
{
    private static readonly string[] s_drivers = ["dp8390", "rtl8139"];
    private static readonly int[] s_sizes = [64, 1514];
    private const int Rounds = 4;
    private const string Doubles = "0.0#"; // how a fractional result prints

    /// <summary>What the runner measures around the client's blocks of one series.</summary>
    private sealed class Series
    {
        public long Count, DriverTraps, DriverCpuNs, ClientCpuNs, KernelCpuNs;
        public long Median, P99, WriteMedian, BusyNs, Lost;
    }

    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 2000);
        if (n < Rounds) n = Rounds;
        if (!BenchHost.TryImage("net", out string root, out string image)) return 1;

        var log = new StringWriter();
        using var bed = new BenchHost.Testbed(image, TextWriter.Synchronized(log), ne2000: true, rtl8139: true);
        var kernel = bed.Kernel;
        long[] echoed = new long[2];
        Echo(bed.Ne2000Far!, echoed, 0);
        Echo(bed.Rtl8139Far!, echoed, 1);
        BenchHost.BootServers(kernel, image, root);

        var client = new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets };
        client.AllowCall(KernelCall.SetGrant);
        client.AllowCall(KernelCall.SetAlarm);
        int clientEp = BenchHost.SpawnClient(kernel, image, "net-client", client, ["bench-net-client"], out var stdin, out var stdout);
        using var toClient = stdin;
        using var fromClient = stdout;
        string Expect(string what, int timeoutS) => BenchHost.Expect("net", fromClient, what, timeoutS, log);

        // "ready dp8390 EP MAC rtl8139 EP MAC"
        var ready = Expect("ready", 60).Split(' ');
        var endpoints = new Dictionary<string, int>();
        for (int i = 1; i + 2 < ready.Length; i += 3) endpoints[ready[i]] = int.Parse(ready[i + 1], CultureInfo.InvariantCulture);

        var series = new Dictionary<(string, int), Series>();
        foreach (var d in s_drivers)
            foreach (int size in s_sizes)
            {
                series[(d, size)] = new Series();
                toClient.WriteLine($"run {d} {size} {Math.Min(n, 500)} warm");
                Expect("done", 120);
            }
        for (int round = 0; round < Rounds; round++)
        {
            int count = n / Rounds + (round < n % Rounds ? 1 : 0);
            foreach (var d in s_drivers)
                foreach (int size in s_sizes)
                {
                    var s = series[(d, size)];
                    var before = Snapshot(kernel, endpoints[d], clientEp);
                    toClient.WriteLine($"run {d} {size} {count}");
                    Expect("done", 300);
                    var after = Snapshot(kernel, endpoints[d], clientEp);
                    s.Count += count;
                    s.DriverTraps += after.DriverTraps - before.DriverTraps;
                    s.DriverCpuNs += after.DriverCpuNs - before.DriverCpuNs;
                    s.ClientCpuNs += after.ClientCpuNs - before.ClientCpuNs;
                    s.KernelCpuNs += after.KernelCpuNs - before.KernelCpuNs;
                }
        }

        toClient.WriteLine("report");
        var stats = new Dictionary<string, long[]>();
        for (string line = Expect("", 30); line != "end"; line = Expect("", 30))
        {
            var w = line.Split(' ');
            long L(int i) => long.Parse(w[i], CultureInfo.InvariantCulture);
            if (w[0] == "result" && series.TryGetValue((w[1], (int)L(2)), out var s))
            {
                (s.Median, s.P99, s.WriteMedian, s.BusyNs, s.Lost) = (L(3), L(4), L(5), L(7), L(8));
                if (L(6) != s.Count) throw new InvalidOperationException($"bench net: the client timed {L(6)} round trips of {w[1]} {w[2]}, asked for {s.Count}");
            }
            else if (w[0] == "stat") stats[w[1]] = [L(2), L(3), L(4), L(5)];
            else throw new InvalidOperationException($"bench net: the client said '{line}'\n{log}");
        }
        toClient.WriteLine("quit");
        // Every frame a driver sent came back from the far side (the client checked the bytes).
        for (int i = 0; i < s_drivers.Length; i++)
            if (!stats.TryGetValue(s_drivers[i], out var st) || st[0] != Interlocked.Read(ref echoed[i]))
                throw new InvalidOperationException($"bench net: {s_drivers[i]} sent {(st is null ? "?" : st[0])} frames, the far side echoed {echoed[i]}");

        Print(json, n, series, stats);
        return 0;
    }

    /// <summary>The far side of a card's wire: every frame goes straight back with destination
    /// and source exchanged. Runs on the thread that transmitted (the kernel's, in a port write).</summary>
    private static void Echo(PeerBackend far, long[] echoed, int index)
    {
        var buffer = new byte[2048];
        far.Attach(frame =>
        {
            if (frame.Length < 12 || frame.Length > buffer.Length) return;
            frame.CopyTo(buffer);
            frame[..6].CopyTo(buffer.AsSpan(6));
            frame[6..12].CopyTo(buffer);
            Interlocked.Increment(ref echoed[index]);
            far.Send(buffer.AsSpan(0, frame.Length));
        });
    }

    private readonly record struct Counters(long DriverTraps, long DriverCpuNs, long ClientCpuNs, long KernelCpuNs);

    private static Counters Snapshot(Kernel.Kernel kernel, int driver, int client)
    {
        var table = kernel.ProcessTable();
        var d = table.First(p => p.Endpoint == driver);
        var c = table.First(p => p.Endpoint == client);
        return new Counters(d.Traps, d.CpuNs, c.CpuNs, (long)(Environment.CpuUsage.TotalTime.Ticks * (1_000_000_000 / TimeSpan.TicksPerSecond)));
    }

    private static void Print(bool json, int n, Dictionary<(string, int), Series> series, Dictionary<string, long[]> stats)
    {
        var r = new List<(string Key, object Value)>();
        foreach (var d in s_drivers)
            foreach (int size in s_sizes)
            {
                var s = series[(d, size)];
                r.Add(($"{d}_rtt_ns_{size}", s.Median));
                r.Add(($"{d}_rtt_p99_ns_{size}", s.P99));
                r.Add(($"{d}_write_ns_{size}", s.WriteMedian));
                r.Add(($"{d}_fps_{size}", s.BusyNs > 0 ? (long)Math.Round(s.Count * 1e9 / s.BusyNs) : 0));
                r.Add(($"{d}_driver_traps_{size}", Math.Round((double)s.DriverTraps / s.Count, 1)));
                r.Add(($"{d}_driver_cpu_ns_{size}", s.DriverCpuNs / s.Count));
                r.Add(($"{d}_client_cpu_ns_{size}", s.ClientCpuNs / s.Count));
                r.Add(($"{d}_kernel_cpu_ns_{size}", s.KernelCpuNs / s.Count));
            }
        foreach (int size in s_sizes)
            r.Add(($"ratio_rtl8139_dp8390_{size}", Math.Round((double)series[("rtl8139", size)].Median / series[("dp8390", size)].Median, 2)));
        foreach (var d in s_drivers)
            r.Add(($"ratio_{d}_1514_64", Math.Round((double)series[(d, 1514)].Median / series[(d, 64)].Median, 2)));
        r.Add(("lost_replies", series.Values.Sum(s => s.Lost)));
        r.Add(("iterations", n));
        r.Add(("binary", "\"nativeaot\""));
        r.Add(("cpu", 0));
        if (json)
        {
            BenchHost.Print(json: true, r, Doubles, keyWidth: 28);
            return;
        }
        Console.WriteLine($"frame round trip through the driver: post Read, Write, Read answered; far side echoes; N={n} per row, CPU 0, NativeAOT");
        Console.WriteLine($"{"driver",-8} {"bytes",5} {"median_ns",10} {"p99_ns",10} {"write_ns",10} {"rtt/s",8} {"drv_traps",9} {"drv_cpu_ns",10} {"cli_cpu_ns",10} {"krn_cpu_ns",10}");
        foreach (var d in s_drivers)
            foreach (int size in s_sizes)
            {
                var s = series[(d, size)];
                Console.WriteLine($"{d,-8} {size,5} {s.Median,10} {s.P99,10} {s.WriteMedian,10} {(s.BusyNs > 0 ? (long)Math.Round(s.Count * 1e9 / s.BusyNs) : 0),8} "
                                  + $"{BenchHost.Format(Math.Round((double)s.DriverTraps / s.Count, 1), Doubles),9} {s.DriverCpuNs / s.Count,10} {s.ClientCpuNs / s.Count,10} {s.KernelCpuNs / s.Count,10}");
            }
        BenchHost.Print(json: false, r.Where(kv => kv.Key.StartsWith("ratio", StringComparison.Ordinal) || kv.Key == "lost_replies"), Doubles, keyWidth: 28);
        foreach (var (d, st) in stats)
            Console.WriteLine($"{d + " stats",-28} sent {st[0]} received {st[1]} dropped {st[2]} reply_failures {st[3]}");
    }
}
