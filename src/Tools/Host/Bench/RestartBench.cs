// `bulkhead bench restart [--json] [--n N] [--driver testdrv|dp8390|rtl8139]`: mean time to
// repair (issue: time from SIGKILL of a running driver to its replacement answering a request,
// over ≥ 100 kills). A kernel with PM, DS and RS from the NativeAOT image (out/aot, built by the
// launcher), the driver started mirrored (restarts come from RS's in-memory copy) and without
// backoff, and a client component that waits for DS to announce each new instance and sends it
// a request (Bulkhead.Bench.MttrClient). The runner SIGKILLs the driver's host process and
// takes the time; the client reports when the new instance answered.
//   testdrv   (default) the test driver, answering a Read;
//   dp8390    the NE2000 driver (label eth0, port I/O), answering a GetStat;
//   rtl8139   the RTL8139 driver (label eth1), answering a GetStat: its repair includes RS
//             resetting the old DMA domain and releasing the device, the PCI-bus driver's
//             reservation, MAPDMA and the IOMMU driver's mapping.
// The network drivers run on the machine of `bench net` (BenchHost.Testbed: the card on its
// Board, the PCI-bus and IOMMU drivers for the RTL8139), under their etc/drivers.conf policies.
// The output carries a `driver` key only when --driver is given.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Kernel;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Bench;

internal static class RestartBench
{
    private static readonly string[] s_drivers = ["testdrv", "dp8390", "rtl8139"];

    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 100);
        string? asked = BenchHost.Option(args, "--driver");
        string driver = asked ?? "testdrv";
        if (!s_drivers.Contains(driver))
        {
            Console.Error.WriteLine($"bench restart: unknown driver '{driver}' (one of {string.Join(", ", s_drivers)})");
            return 2;
        }
        if (!BenchHost.TryImage("restart", out string root, out string image)) return 1;
        var samples = Measure(image, root, driver, n, confined: true);
        var plain = Measure(image, root, driver, n, confined: false);
        double median = samples[samples.Count / 2], plainMedian = plain[plain.Count / 2];
        samples.Sort();
        var r = new List<(string Key, object Value)>();
        if (asked is not null) r.Add(("driver", $"\"{driver}\""));
        r.AddRange(
        [
            ("mttr_ms_median", Math.Round(samples[samples.Count / 2], 2)),
            ("mttr_ms_p99", Math.Round(samples[Math.Min(samples.Count - 1, samples.Count * 99 / 100)], 2)),
            ("mttr_ms_min", Math.Round(samples[0], 2)),
            ("mttr_ms_max", Math.Round(samples[^1], 2)),
            ("mttr_ms_median_unconfined", Math.Round(plainMedian, 2)),
            ("confinement_cost_ms", Math.Round(median - plainMedian, 2)),
            ("kills", samples.Count),
            ("binary", "\"nativeaot\""),
            ("restart_from", "\"memory (-mirror)\""),
        ]);
        BenchHost.Print(json, r, doubleFormat: null, keyWidth: 26, trimQuotes: true);
        return 0;
    }

    /// <summary>Kills the driver <paramref name="n"/> times; the sorted repair times in ms.
    /// <paramref name="confined"/> false runs the set unconfined, only for the comparison.</summary>
    private static List<double> Measure(string image, string root, string driver, int n, bool confined)
    {
        var log = new StringWriter();
        using var bed = new BenchHost.Testbed(image, TextWriter.Synchronized(log), ne2000: driver == "dp8390", rtl8139: driver == "rtl8139", confined: confined);
        var kernel = bed.Kernel;
        BenchHost.BootServers(kernel, image, root, "max_failures=1000000");

        var client = new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets };
        client.AllowCall(KernelCall.SetGrant);
        BenchHost.SpawnClient(kernel, image, "mttr-client", client, ["bench-mttr-client", driver, n.ToString(CultureInfo.InvariantCulture)],
                              out var stdin, out var stdout);
        using var toClient = stdin;
        using var fromClient = stdout;

        var samples = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            string ready = BenchHost.Expect("restart", fromClient, "ready ", 60, log);
            int endpoint = int.Parse(ready.Split(' ')[1], CultureInfo.InvariantCulture);
            int pid = kernel.ProcessTable().First(p => p.Endpoint == endpoint).HostPid;
            long t0 = Stopwatch.GetTimestamp();
            Native.kill(pid, 9);
            toClient.WriteLine("killed");
            string up = BenchHost.Expect("restart", fromClient, "up ", 60, log);
            long t1 = long.Parse(up.Split(' ')[1], CultureInfo.InvariantCulture);
            samples.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
        }
        samples.Sort();
        return samples;
    }
}
