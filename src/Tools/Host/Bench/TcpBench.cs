// `bulkhead bench tcp [--json] [--size MiB] [--n N]`: TCP through INET against Linux, on both
// cards, with Linux ↔ Linux over a veth pair measured in the same run for scale (issue 10).
// Setup: one booted instance (NetInstance: a real bulkhead-kernel, both cards on TAP backends,
// Linux's ends in a namespace); for the veth pair two more namespaces, "server" and "client".
// The Linux programs are the same on every path; only what they talk to changes:
//   download  Linux's `python3 -m http.server` serves --size MiB (default 64) of seeded random
//             bytes; Bulkhead's `wget` fetches it (its own time and SHA-256), on the veth pair a
//             python3 client that also hashes what it gets (GetScript);
//   upload    a python3 sink on Linux takes one connection and prints bytes, SHA-256 and the
//             time from accept to end of stream; Bulkhead's `nc ADDRESS PORT` sends the file
//             (its stdin), on the veth pair a python3 sender (SourceScript);
//   latency   TCP transactions, the SWIFI workload of thesis §5.1.2: a python3 client on Linux
//             connects N times (default 500) one after another, reads the daytime line to the
//             server's close and closes; per transaction median and p99 µs. The server is
//             Bulkhead's `daytimed` on each card, and on the veth pair a python3 daytime server
//             doing the same (accept, one line, close).
// Bulkhead's programs run through the control socket's `run` request, as `./bulkhead run` does.
// Throughput in MB/s (10^6 bytes per second, as wget prints it); every transfer is checked by
// SHA-256 and length; beside each Bulkhead transfer, what INET's TCP counters (`netstat`) moved
// by (retransmits, RTO timeouts, drops), to tell a slow path from a lossy one. Ratios: each Bulkhead figure over Linux's (throughput: higher is better,
// so the ratio is Bulkhead ÷ Linux; latency: Bulkhead ÷ Linux, lower is better), and
// rtl8139 ÷ dp8390. One run on a shared machine: the figures are noisy, the ratios within the
// run less so.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Bulkhead.Host.Bench;

internal static partial class TcpBench
{
    private const int HttpPort = 8080, SinkPort = 7000, DaytimePort = 1313;
    private const string VethServer = "10.0.9.1", VethClient = "10.0.9.2";

    private sealed record Path(string Name, double DownMbps, bool DownOk, double UpMbps, bool UpOk, double CrrMedianUs, double CrrP99Us, int CrrDone, int CrrAsked,
                               (long Retransmits, long FastRetransmits, long Timeouts, long Drops)? DownTcp = null,
                               (long Retransmits, long FastRetransmits, long Timeouts, long Drops)? UpTcp = null, string DropReasons = "");

    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 500);
        if (!BenchHost.TrySizeMiB(args, "tcp", defaultMiB: 64, out int sizeMiB)) return 2;
        if (!BenchHost.TryImage("tcp", out string root, out string image)) return 1;

        using var inst = new NetInstance(root, image);
        long size = (long)sizeMiB << 20;
        var (dir, name, sha) = inst.RandomFile(size);
        string file = System.IO.Path.Combine(dir, name);
        string scripts = WriteScripts(dir);
        var paths = new List<Path>();
        using (var veth = new VethPair(inst))
        {
            if (!json) Console.Error.WriteLine("bench tcp: Linux ↔ Linux over veth...");
            paths.Add(MeasureVeth(inst, veth, dir, name, file, sha, size, scripts, n));
        }
        inst.StartLinux(["python3", "-m", "http.server", HttpPort.ToString(CultureInfo.InvariantCulture), "--bind", "0.0.0.0"], dir, drop: true);
        inst.WaitListening(HttpPort);
        foreach (var card in new[] { inst.Ne2000, inst.Rtl8139 })
        {
            if (!json) Console.Error.WriteLine($"bench tcp: Bulkhead ({card.Driver}) ↔ Linux...");
            paths.Add(MeasureCard(inst, card, name, file, sha, size, scripts, n));
        }
        Print(json, sizeMiB, n, inst.KernelKind, paths);
        return paths.All(p => p.DownOk && p.UpOk && p.CrrDone == p.CrrAsked) ? 0 : 1;
    }

    private static Path MeasureCard(NetInstance inst, NetInstance.Card card, string name, string file, string sha, long size, string scripts, int n)
    {
        // Warm-up: ARP and the first connection.
        inst.Run(["wget", "-q", $"http://{card.Linux}:{HttpPort}/"], 60);
        var counters = inst.InetCounters();
        var (status, stdout, stderr) = inst.Run(["wget", "-q", "-T", "120", $"http://{card.Linux}:{HttpPort}/{name}"], 1800);
        var m = WgetLine().Match(stdout);
        double down = 0;
        bool downOk = false;
        if (status == 0 && m.Success)
        {
            long bytes = long.Parse(m.Groups["bytes"].Value, CultureInfo.InvariantCulture);
            down = bytes / double.Parse(m.Groups["seconds"].Value, CultureInfo.InvariantCulture) / 1e6;
            downOk = bytes == size && m.Groups["sha"].Value == sha;
        }
        else Console.Error.WriteLine($"bench tcp: {card.Driver} download failed: {stdout}{stderr}");
        var afterDown = inst.InetCounters();
        var downTcp = NetInstance.TcpDelta(counters, afterDown);

        var sink = inst.StartLinux(["python3", System.IO.Path.Combine(scripts, "sink.py"), card.Linux, SinkPort.ToString(CultureInfo.InvariantCulture)]);
        inst.WaitListening(SinkPort);
        var nc = inst.Run(["nc", card.Linux, SinkPort.ToString(CultureInfo.InvariantCulture)], 1800, stdinFile: file);
        var (up, upOk) = SinkResult(sink, size, sha, $"{card.Driver} upload (nc exit {nc.Status}: {nc.Stderr.Trim()})");
        var afterUp = inst.InetCounters();
        var upTcp = NetInstance.TcpDelta(afterDown, afterUp);
        string reasons = NetInstance.DropReasons(counters, afterUp);

        // daytimed serves the probe that waits for it to listen, then the N transactions, and exits.
        var server = Task.Run(() => inst.Run(["daytimed", "-p", DaytimePort.ToString(CultureInfo.InvariantCulture), "-n", (n + 1).ToString(CultureInfo.InvariantCulture)], 600));
        inst.WaitUntil(() => server.IsCompleted || Crr(inst.Namespace, scripts, card.Inet, 1, quiet: true).Done == 1, 30, $"daytimed to listen on {card.Inet}");
        var (median, p99, done) = Crr(inst.Namespace, scripts, card.Inet, n);
        if (!server.Wait(TimeSpan.FromSeconds(60))) Console.Error.WriteLine($"bench tcp: {card.Driver}: daytimed did not end after {n + 1} connections");
        return new Path(card.Driver, down, downOk, up, upOk, median, p99, done, n, downTcp, upTcp, reasons);
    }

    private static Path MeasureVeth(NetInstance inst, VethPair veth, string dir, string name, string file, string sha, long size, string scripts, int n)
    {
        string port = HttpPort.ToString(CultureInfo.InvariantCulture);
        inst.StartLinux(["python3", "-m", "http.server", port, "--bind", VethServer], dir, ns: veth.Server, drop: true);
        inst.WaitListening(HttpPort, veth.Server);
        NetInstance.ExecIn(veth.Client, ["python3", System.IO.Path.Combine(scripts, "get.py"), $"http://{VethServer}:{port}/"]);
        var (code, stdout, stderr) = NetInstance.ExecIn(veth.Client, ["python3", System.IO.Path.Combine(scripts, "get.py"), $"http://{VethServer}:{port}/{name}"], 1800);
        var w = stdout.Trim().Split(' ');
        double down = 0;
        bool downOk = false;
        if (code == 0 && w.Length == 3)
        {
            long bytes = long.Parse(w[0], CultureInfo.InvariantCulture);
            down = bytes / double.Parse(w[1], CultureInfo.InvariantCulture) / 1e6;
            downOk = bytes == size && w[2] == sha;
        }
        else Console.Error.WriteLine($"bench tcp: veth download failed: {stdout}{stderr}");

        var sink = inst.StartLinux(["python3", System.IO.Path.Combine(scripts, "sink.py"), VethServer, SinkPort.ToString(CultureInfo.InvariantCulture)], ns: veth.Server);
        inst.WaitListening(SinkPort, veth.Server);
        var source = NetInstance.ExecIn(veth.Client, ["python3", System.IO.Path.Combine(scripts, "source.py"), VethServer, SinkPort.ToString(CultureInfo.InvariantCulture), file], 1800);
        var (up, upOk) = SinkResult(sink, size, sha, $"veth upload (sender exit {source.Code}: {source.Stderr.Trim()})");

        inst.StartLinux(["python3", System.IO.Path.Combine(scripts, "daytimed.py"), VethServer, DaytimePort.ToString(CultureInfo.InvariantCulture)], ns: veth.Server, drop: true);
        inst.WaitListening(DaytimePort, veth.Server);
        var (median, p99, done) = Crr(veth.Client, scripts, VethServer, n);
        return new Path("linux", down, downOk, up, upOk, median, p99, done, n);
    }

    /// <summary>The sink's "BYTES SHA256 SECONDS": MB/s and whether bytes and hash match.</summary>
    private static (double Mbps, bool Ok) SinkResult(Process sink, long size, string sha, string what)
    {
        var output = sink.StandardOutput.ReadToEndAsync();
        if (!sink.WaitForExit(120_000) || !output.Wait(10_000))
        {
            Console.Error.WriteLine($"bench tcp: {what}: the Linux sink did not see the end of the stream");
            return (0, false);
        }
        var w = output.Result.Trim().Split(' ');
        if (w.Length != 3)
        {
            Console.Error.WriteLine($"bench tcp: {what}: the sink said '{output.Result.Trim()}'");
            return (0, false);
        }
        long bytes = long.Parse(w[0], CultureInfo.InvariantCulture);
        double seconds = double.Parse(w[2], CultureInfo.InvariantCulture);
        return (seconds > 0 ? bytes / seconds / 1e6 : 0, bytes == size && w[1] == sha);
    }

    /// <summary>N TCP transactions from namespace <paramref name="ns"/> to a daytime server at
    /// <paramref name="address"/>: median and p99 µs, and how many completed.</summary>
    private static (double MedianUs, double P99Us, int Done) Crr(string ns, string scripts, string address, int n, bool quiet = false)
    {
        var (code, stdout, stderr) = NetInstance.ExecIn(ns, ["python3", System.IO.Path.Combine(scripts, "crr.py"), address, DaytimePort.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture)], 600);
        var w = stdout.Trim().Split(' ');
        if (code != 0 || w.Length != 3)
        {
            if (!quiet) Console.Error.WriteLine($"bench tcp: transactions to {address} failed: {stdout}{stderr}");
            return (0, 0, 0);
        }
        return (double.Parse(w[0], CultureInfo.InvariantCulture), double.Parse(w[1], CultureInfo.InvariantCulture), int.Parse(w[2], CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"HTTP 200 OK: (?<bytes>\d+) bytes in (?<seconds>[0-9.]+) s \([0-9.]+ MB/s\), sha256 (?<sha>[0-9a-f]{64})")]
    private static partial Regex WgetLine();

    private static void Print(bool json, int sizeMiB, int n, string kernel, List<Path> paths)
    {
        var linux = paths[0];
        var r = new List<(string Key, object Value)> { ("size_mib", sizeMiB), ("transactions", n) };
        foreach (var p in paths)
        {
            r.Add(($"{p.Name}_download_mbps", Math.Round(p.DownMbps, 2)));
            r.Add(($"{p.Name}_upload_mbps", Math.Round(p.UpMbps, 2)));
            r.Add(($"{p.Name}_transaction_us_median", Math.Round(p.CrrMedianUs, 1)));
            r.Add(($"{p.Name}_transaction_us_p99", Math.Round(p.CrrP99Us, 1)));
            r.Add(($"{p.Name}_transactions_done", p.CrrDone));
            r.Add(($"{p.Name}_checksums_ok", p.DownOk && p.UpOk ? "true" : "false"));
            foreach (var (dir, t) in new[] { ("download", p.DownTcp), ("upload", p.UpTcp) })
                if (t is { } c)
                {
                    r.Add(($"{p.Name}_{dir}_tcp_retransmits", c.Retransmits));
                    r.Add(($"{p.Name}_{dir}_tcp_timeouts", c.Timeouts));
                    r.Add(($"{p.Name}_{dir}_inet_drops", c.Drops));
                }
            if (p.DropReasons.Length > 0) r.Add(($"{p.Name}_inet_drop_reasons", NetRecoveryBench.JsonString(p.DropReasons)));
        }
        foreach (var p in paths.Skip(1))
        {
            r.Add(($"ratio_{p.Name}_linux_download", Ratio(p.DownMbps, linux.DownMbps)));
            r.Add(($"ratio_{p.Name}_linux_upload", Ratio(p.UpMbps, linux.UpMbps)));
            r.Add(($"ratio_{p.Name}_linux_transaction", Ratio(p.CrrMedianUs, linux.CrrMedianUs)));
        }
        var dp = paths.First(p => p.Name == "dp8390");
        var rtl = paths.First(p => p.Name == "rtl8139");
        r.Add(("ratio_rtl8139_dp8390_download", Ratio(rtl.DownMbps, dp.DownMbps)));
        r.Add(("ratio_rtl8139_dp8390_upload", Ratio(rtl.UpMbps, dp.UpMbps)));
        r.Add(("ratio_rtl8139_dp8390_transaction", Ratio(rtl.CrrMedianUs, dp.CrrMedianUs)));
        r.Add(("kernel", $"\"{kernel}\""));
        if (json)
        {
            BenchHost.Print(json: true, r, null, 0);
            return;
        }
        Console.WriteLine($"TCP against Linux: {sizeMiB} MiB each way (SHA-256 checked), {n} transactions (connect, daytime line, close); one run, {kernel} kernel");
        Console.WriteLine($"{"path",-22} {"down MB/s",9} {"up MB/s",8} {"txn µs med",10} {"txn µs p99",10} {"sha256",6}  INET retx/rto/drops down, up");
        foreach (var p in paths)
        {
            string label = p.Name == "linux" ? "Linux ↔ Linux (veth)" : $"Bulkhead {p.Name}";
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{label,-22} {p.DownMbps,9:F2} {p.UpMbps,8:F2} {p.CrrMedianUs,10:F0} {p.CrrP99Us,10:F0} {(p.DownOk && p.UpOk ? "ok" : "BAD"),6}");
            if (p.DownTcp is { } d && p.UpTcp is { } u) line += $"  {d.Retransmits}/{d.Timeouts}/{d.Drops}, {u.Retransmits}/{u.Timeouts}/{u.Drops}";
            Console.WriteLine(p.CrrDone < p.CrrAsked ? $"{line}  ({p.CrrDone} of {p.CrrAsked} transactions)" : line);
        }
        foreach (var p in paths.Where(p => p.DropReasons.Length > 0))
            Console.WriteLine($"INET drops during the {p.Name} transfers: {p.DropReasons}");
        BenchHost.Print(json: false, r.Where(kv => kv.Key.StartsWith("ratio", StringComparison.Ordinal)), null, keyWidth: 36);
    }

    private static double Ratio(double a, double b) => b > 0 ? Math.Round(a / b, 3) : 0;

    /// <summary>Two namespaces joined by a veth pair: Server (10.0.9.1/24) and Client (10.0.9.2/24).</summary>
    private sealed class VethPair : IDisposable
    {
        public string Server { get; }
        public string Client { get; }

        public VethPair(NetInstance inst)
        {
            Server = inst.Namespace + "-vs";
            Client = inst.Namespace + "-vc";
            string a = inst.Ne2000.Interface[..^2] + "va", b = inst.Ne2000.Interface[..^2] + "vb";
            foreach (var ns in new[] { Server, Client }) NetInstance.Ip(["netns", "del", ns], check: false);
            NetInstance.Ip(["netns", "add", Server]);
            NetInstance.Ip(["netns", "add", Client]);
            try
            {
                NetInstance.Ip(["link", "add", a, "netns", Server, "type", "veth", "peer", "name", b, "netns", Client]);
                foreach (var (ns, ifname, address) in new[] { (Server, a, VethServer), (Client, b, VethClient) })
                {
                    NetInstance.Ip(["-n", ns, "addr", "add", address + "/24", "dev", ifname]);
                    NetInstance.Ip(["-n", ns, "link", "set", ifname, "up"]);
                    NetInstance.Ip(["-n", ns, "link", "set", "lo", "up"]);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            NetInstance.Ip(["netns", "del", Server], check: false);
            NetInstance.Ip(["netns", "del", Client], check: false);
        }
    }

    /// <summary>Writes the python3 helpers into <paramref name="dir"/>/scripts; its path.</summary>
    private static string WriteScripts(string dir)
    {
        string scripts = System.IO.Path.Combine(dir, "..", "scripts");
        Directory.CreateDirectory(scripts);
        foreach (var (name, text) in new[] { ("sink.py", NetInstance.SinkScript), ("source.py", SourceScript), ("get.py", GetScript), ("crr.py", CrrScript), ("daytimed.py", DaytimeScript) })
            File.WriteAllText(System.IO.Path.Combine(scripts, name), text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(scripts, (UnixFileMode)0b111_101_101);
        return System.IO.Path.GetFullPath(scripts);
    }

    // argv: address port file. Sends the file on one connection, then closes.
    private const string SourceScript = """
        import socket, sys
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
        with open(sys.argv[3], "rb") as f:
            while True:
                b = f.read(1 << 16)
                if not b: break
                s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 16): pass
        s.close()
        """;

    // argv: url. HTTP GET; prints "BYTES SECONDS SHA256" of the body (as wget measures it).
    private const string GetScript = """
        import hashlib, http.client, sys, time, urllib.parse
        u = urllib.parse.urlsplit(sys.argv[1])
        t0 = time.monotonic()
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        c.request("GET", u.path or "/")
        r = c.getresponse()
        h = hashlib.sha256()
        n = 0
        while True:
            b = r.read(1 << 16)
            if not b: break
            h.update(b)
            n += len(b)
        print(n, "%.6f" % (time.monotonic() - t0), h.hexdigest())
        """;

    // argv: address port count. COUNT transactions one after another (connect, read to the
    // server's close, close); prints "MEDIAN_US P99_US DONE".
    private const string CrrScript = """
        import socket, sys, time
        addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        times = []
        for i in range(n):
            t0 = time.monotonic()
            try:
                s = socket.create_connection((addr, port), timeout=10)
                data = b""
                while True:
                    b = s.recv(256)
                    if not b: break
                    data += b
                s.close()
            except OSError as e:
                print("transaction", i, e, file=sys.stderr)
                continue
            if data.endswith(b"\n"): times.append((time.monotonic() - t0) * 1e6)
        times.sort()
        if not times: print(0, 0, 0)
        else: print("%.1f %.1f %d" % (times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)], len(times)))
        """;

    // argv: address port. A daytime server like Bulkhead's daytimed: one connection at a time,
    // one line, close.
    private const string DaytimeScript = """
        import socket, sys, time
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((sys.argv[1], int(sys.argv[2])))
        l.listen(128)
        while True:
            c, _ = l.accept()
            c.sendall(time.strftime("%a %b %d %H:%M:%S %Y UTC\r\n", time.gmtime()).encode())
            c.close()
        """;
}
