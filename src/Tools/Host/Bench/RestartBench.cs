// `bulkhead bench restart [--json] [--n N]`: mean time to repair (issue: time from SIGKILL of
// a running driver to its replacement answering a request, over ≥ 100 kills). A kernel with
// PM, DS and RS from the NativeAOT image (out/aot, built by the launcher), the test driver
// started mirrored (restarts come from RS's in-memory copy) and without backoff, and a client
// component that waits for DS to announce each new instance and reads from it
// (Bulkhead.Bench.MttrClient). The runner SIGKILLs the driver's host process and takes the
// time; the client reports when the new instance answered.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Kernel;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Bench;

internal static class RestartBench
{
    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 100);
        if (!BenchHost.TryImage("restart", out string root, out string image)) return 1;
        var log = new StringWriter();
        using var kernel = new Kernel.Kernel(new KernelOptions { ProcSlots = 64, CpuMask = 1, DefaultArenaBytes = 64L << 20, Console = TextWriter.Synchronized(log) });
        BenchHost.BootServers(kernel, image, root, "max_failures=1000000");

        var client = new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets };
        client.AllowCall(KernelCall.SetGrant);
        BenchHost.SpawnClient(kernel, image, "mttr-client", client, ["bench-mttr-client", "testdrv", n.ToString(CultureInfo.InvariantCulture)],
                              out var stdin, out var stdout);
        using var toClient = stdin;
        using var fromClient = stdout;

        var samples = new List<double>(n);
        for (int i = 0; i < n; i++)
        {
            string ready = fromClient.ReadLine() ?? throw new InvalidOperationException("client ended early:\n" + log);
            var w = ready.Split(' ');
            if (w[0] != "ready") throw new InvalidOperationException($"client said '{ready}'\n{log}");
            int driver = int.Parse(w[1], CultureInfo.InvariantCulture);
            int pid = kernel.ProcessTable().First(p => p.Endpoint == driver).HostPid;
            long t0 = Stopwatch.GetTimestamp();
            Native.kill(pid, 9);
            toClient.WriteLine("killed");
            string up = fromClient.ReadLine() ?? throw new InvalidOperationException("client ended early:\n" + log);
            long t1 = long.Parse(up.Split(' ')[1], CultureInfo.InvariantCulture);
            samples.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
        }
        samples.Sort();
        var r = new (string Key, object Value)[]
        {
            ("mttr_ms_median", Math.Round(samples[samples.Count / 2], 2)),
            ("mttr_ms_p99", Math.Round(samples[Math.Min(samples.Count - 1, samples.Count * 99 / 100)], 2)),
            ("mttr_ms_min", Math.Round(samples[0], 2)),
            ("mttr_ms_max", Math.Round(samples[^1], 2)),
            ("kills", samples.Count),
            ("binary", "\"nativeaot\""),
            ("restart_from", "\"memory (-mirror)\""),
        };
        BenchHost.Print(json, r, doubleFormat: null, keyWidth: 16, trimQuotes: true);
        return 0;
    }
}
