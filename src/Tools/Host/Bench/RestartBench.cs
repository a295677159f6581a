// `bulkhead bench restart [--json] [--n N]`: mean time to repair (issue: time from SIGKILL of
// a running driver to its replacement answering a request, over ≥ 100 kills). A kernel with
// PM, DS and RS from the NativeAOT image (out/aot, built by the launcher), the test driver
// started mirrored (restarts come from RS's in-memory copy) and without backoff, and a client
// component that waits for DS to announce each new instance and reads from it
// (Bulkhead.Bench.MttrClient). The runner SIGKILLs the driver's host process and takes the
// time; the client reports when the new instance answered.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bulkhead.Kernel;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Bench;

internal static unsafe class RestartBench
{
    public static int Run(string[] args)
    {
        bool json = args.Contains("--json");
        int n = 100;
        int at = Array.IndexOf(args, "--n");
        if (at >= 0 && at + 1 < args.Length) n = int.Parse(args[at + 1], CultureInfo.InvariantCulture);
        string root = RepoRoot();
        string image = Path.Combine(root, "out", "aot", "bulkhead-image");
        if (!File.Exists(image))
        {
            Console.Error.WriteLine($"bench restart: no NativeAOT image at {image} (./bulkhead bench builds it)");
            return 1;
        }
        var log = new StringWriter();
        using var kernel = new Kernel.Kernel(new KernelOptions { ProcSlots = 64, CpuMask = 1, DefaultArenaBytes = 64L << 20, Console = TextWriter.Synchronized(log) });
        var server = new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets | PrivilegeBlock.SysProc };
        foreach (int c in new[] { KernelCall.SetGrant, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy, KernelCall.SysCtl, KernelCall.Times, KernelCall.GetInfo, KernelCall.SetAlarm })
            server.AllowCall(c);
        var pm = server;
        pm.AllowCall(KernelCall.Spawn);
        pm.AllowCall(KernelCall.Kill);
        pm.AllowCall(KernelCall.GetKsig);
        Boot(kernel, image, "pm", Endpoint.Pm, pm);
        Boot(kernel, image, "ds", Endpoint.Ds, server);
        Boot(kernel, image, "rs", Endpoint.Rs, server, Path.Combine(root, "etc", "drivers.conf"), "max_failures=1000000");

        var client = new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets };
        client.AllowCall(KernelCall.SetGrant);
        int* inPipe = stackalloc int[2];
        int* outPipe = stackalloc int[2];
        Native.pipe2(inPipe, Native.O_CLOEXEC);
        Native.pipe2(outPipe, Native.O_CLOEXEC);
        int ep = kernel.Spawn(new ProcessSpec
        {
            Name = "mttr-client",
            Path = image,
            Args = ["bench-mttr-client", "testdrv", n.ToString(CultureInfo.InvariantCulture)],
            Privileges = client,
            StdinFd = inPipe[0],
            StdoutFd = outPipe[1],
        });
        Native.close(inPipe[0]);
        Native.close(outPipe[1]);
        if (ep < 0) throw new InvalidOperationException($"cannot start the client: {Err.Name(ep)}");
        using var toClient = new StreamWriter(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(inPipe[1], true), FileAccess.Write)) { AutoFlush = true };
        using var fromClient = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(outPipe[0], true), FileAccess.Read), Encoding.UTF8);

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
        var r = new (string, object)[]
        {
            ("mttr_ms_median", Math.Round(samples[samples.Count / 2], 2)),
            ("mttr_ms_p99", Math.Round(samples[Math.Min(samples.Count - 1, samples.Count * 99 / 100)], 2)),
            ("mttr_ms_min", Math.Round(samples[0], 2)),
            ("mttr_ms_max", Math.Round(samples[^1], 2)),
            ("kills", samples.Count),
            ("binary", "\"nativeaot\""),
            ("restart_from", "\"memory (-mirror)\""),
        };
        if (json) Console.WriteLine("{" + string.Join(", ", r.Select(kv => $"\"{kv.Item1}\": {Convert.ToString(kv.Item2, CultureInfo.InvariantCulture)}")) + "}");
        else foreach (var (k, v) in r) Console.WriteLine($"{k,-16} {Convert.ToString(v, CultureInfo.InvariantCulture)!.Trim('"')}");
        return 0;
    }

    private static void Boot(Kernel.Kernel kernel, string image, string name, int slot, PrivilegeBlock priv, params string[] args)
    {
        int ep = kernel.Spawn(new ProcessSpec { Name = name, Path = image, Args = [name, .. args], Slot = slot, Privileges = priv });
        if (ep != slot) throw new InvalidOperationException($"cannot start {name}: {Err.Name(ep)}");
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "etc", "drivers.conf"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
