// A booted Bulkhead instance on Linux TAP interfaces, with Linux's ends in a network namespace,
// for the benchmarks that measure INET against real Linux peers (bench netrecovery, bench tcp).
// The instance is a BenchInstance (booted as a user boots it, RS with no failure limit and the
// network drivers restarted without backoff) whose boot.conf copy puts eth0 (NE2000) and eth1
// (RTL8139) on `backend tap IFNAME` instead of `backend none`; etc/rc starts dp8390, rtl8139
// and INET (etc/inet.conf). Once the kernel answers on its control socket, the Linux end of
// each TAP is moved into the namespace and given the address etc/inet.conf expects there
// (10.0.2.1/24 on eth0, 10.0.3.1/24 on eth1), and the instance is ready when INET has logged
// both drivers up (system.log). Linux programs run in the namespace (`ip netns exec`).
// FramesFromBulkhead reads, on a thread inside the namespace, Linux's receive counter of a TAP
// (/proc/thread-self/net/dev): every frame Bulkhead's card put on the wire.
// Rules: needs root (TAP, namespaces); Dispose stops the Linux programs, shuts the instance
// down and deletes the namespace; a constructor that fails leaves nothing behind.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Bulkhead.Host.Bench;

internal sealed partial class NetInstance : IDisposable
{
    /// <summary>A card of the instance: its DS label (the driver's) and process name, the
    /// driver, INET's address on it, Linux's, and the Linux end of its TAP.</summary>
    public sealed record Card(string Label, string Driver, string Inet, string Linux, string Interface);

    private readonly BenchInstance _sys;
    private readonly List<Process> _linux = [];

    public string Namespace { get; }
    public string KernelKind => _sys.KernelKind;
    public Card Ne2000 { get; }
    public Card Rtl8139 { get; }

    public Card CardOf(string driver) => driver == "dp8390" ? Ne2000 : Rtl8139;

    /// <param name="editRc">changes to one line of etc/rc's copy (BenchInstance; null: none)</param>
    public NetInstance(string root, string image, Func<string, string>? editRc = null)
    {
        int id = Environment.ProcessId % 100000;
        Namespace = $"bh-bench-{id}";
        Ne2000 = new Card("eth0", "dp8390", "10.0.2.15", "10.0.2.1", $"bhb{id}e0");
        Rtl8139 = new Card("eth1", "rtl8139", "10.0.3.15", "10.0.3.1", $"bhb{id}e1");
        Ip(["netns", "del", Namespace], check: false); // left over by a run that was killed
        Ip(["netns", "add", Namespace]);
        try
        {
            _sys = new BenchInstance(root, image, "net", lines =>
            {
                BenchInstance.SetDeviceKey(lines, Ne2000.Label, "backend", $"tap {Ne2000.Interface}");
                BenchInstance.SetDeviceKey(lines, Rtl8139.Label, "backend", $"tap {Rtl8139.Interface}");
                return lines;
            }, editRc, "dp8390", "rtl8139");
        }
        catch
        {
            Ip(["netns", "del", Namespace], check: false);
            throw;
        }
        try
        {
            foreach (var card in new[] { Ne2000, Rtl8139 })
            {
                Ip(["link", "set", card.Interface, "netns", Namespace]);
                InNamespace(["ip", "addr", "add", card.Linux + "/24", "dev", card.Interface]);
                InNamespace(["ip", "link", "set", card.Interface, "up"]);
            }
            InNamespace(["ip", "link", "set", "lo", "up"]);
            WaitUntil(() => Attachments(Ne2000) >= 1 && Attachments(Rtl8139) >= 1, 120, "INET to attach eth0 and eth1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void WaitUntil(Func<bool> done, int seconds, string what) => _sys.WaitUntil(done, seconds, what);

    public string Socket => _sys.Socket;
    public string SystemLog => _sys.SystemLog;

    /// <summary>Every service RS lists (BenchInstance.Services).</summary>
    public Dictionary<string, (int? Pid, int Restarts)> Services() => _sys.Services();

    public string Diagnostics() => _sys.Diagnostics();

    /// <summary>How often INET has attached an instance of <paramref name="card"/>'s driver (its
    /// log line `inet: LABEL: driver LABEL (EP) up, …`).</summary>
    public int Attachments(Card card)
    {
        string prefix = $"inet: {card.Label}: driver {card.Label} (";
        return _sys.LogLines(l => l.Contains(prefix, StringComparison.Ordinal) && l.Contains(") up, ", StringComparison.Ordinal));
    }

    /// <summary>The driver's host pid once RS runs it as a process other than <paramref name="old"/> (BenchInstance.WaitRunning).</summary>
    public (int Pid, int Restarts) WaitDriver(Card card, int? old) => _sys.WaitRunning(card.Label, old);

    /// <summary>Kills <paramref name="card"/>'s driver every N s while <paramref name="work"/> runs (BenchInstance.KillEvery).</summary>
    public int KillEvery(Card card, int intervalS, Task work, Action<long>? afterKill) => _sys.KillEvery(card.Label, intervalS, work, afterKill);

    /// <summary>Runs a Bulkhead program (BenchInstance.Run).</summary>
    public (int Status, string Stdout, string Stderr) Run(string[] args, int timeoutS, string? stdinFile = null) =>
        _sys.Run(args, timeoutS, stdinFile);

    /// <summary>INET's counters as `netstat` (`./bulkhead stats --net`) prints them: each line
    /// "NAME N" or "drop REASON N" by its words before the number; empty when INET does not answer.</summary>
    public Dictionary<string, long> InetCounters()
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        var (status, stdout, _) = Run(["netstat"], 60);
        if (status != 0) return counters;
        foreach (var line in stdout.Split('\n'))
        {
            int space = line.TrimEnd().LastIndexOf(' ');
            if (space > 0 && long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                counters[line[..space].Trim()] = v;
        }
        return counters;
    }

    /// <summary>What INET's TCP and drop counters moved by between two InetCounters():
    /// retransmits, fast retransmits, timeouts (RTO expiries) and frames dropped for any reason.</summary>
    public static (long Retransmits, long FastRetransmits, long Timeouts, long Drops) TcpDelta(Dictionary<string, long> before, Dictionary<string, long> after)
    {
        long D(string key) => after.GetValueOrDefault(key) - before.GetValueOrDefault(key);
        long drops = after.Where(kv => kv.Key.StartsWith("drop ", StringComparison.Ordinal)).Sum(kv => kv.Value - before.GetValueOrDefault(kv.Key));
        return (D("tcp-retransmits"), D("tcp-fast-retransmits"), D("tcp-timeouts"), drops);
    }

    /// <summary>The Linux peer's TCP counters in the namespace (/proc/net/snmp and
    /// /proc/net/netstat, which are per namespace): "Tcp RetransSegs", "TcpExt TCPTimeouts", …</summary>
    public Dictionary<string, long> LinuxTcpCounters()
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        var (code, stdout, _) = ExecIn(Namespace, ["cat", "/proc/net/snmp", "/proc/net/netstat"]);
        if (code != 0) return counters;
        var lines = stdout.Split('\n');
        // Each table is a header line of names and a line of values with the same prefix.
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            string[] names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (names.Length < 2 || names.Length != values.Length || names[0] != values[0] || !names[0].EndsWith(':')) continue;
            if (!long.TryParse(values[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) continue;
            for (int k = 1; k < names.Length; k++)
                if (long.TryParse(values[k], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                    counters[$"{names[0].TrimEnd(':')} {names[k]}"] = v;
            i++;
        }
        return counters;
    }

    /// <summary>What the Linux sender did between two LinuxTcpCounters(): segments retransmitted,
    /// retransmission time-outs, fast-recovery episodes (SACK or Reno) and tail-loss probes.</summary>
    public static (long Retransmits, long Timeouts, long Recoveries, long Probes) LinuxTcpDelta(Dictionary<string, long> before, Dictionary<string, long> after)
    {
        long D(string key) => after.GetValueOrDefault(key) - before.GetValueOrDefault(key);
        return (D("Tcp RetransSegs"), D("TcpExt TCPTimeouts"), D("TcpExt TCPSackRecovery") + D("TcpExt TCPRenoRecovery"), D("TcpExt TCPLossProbes"));
    }

    /// <summary>The drop reasons that moved between two InetCounters(), as "Reason N, …" ("" for none).</summary>
    public static string DropReasons(Dictionary<string, long> before, Dictionary<string, long> after) =>
        string.Join(", ", after.Where(kv => kv.Key.StartsWith("drop ", StringComparison.Ordinal) && kv.Value != before.GetValueOrDefault(kv.Key))
                                .Select(kv => $"{kv.Key[5..]} {kv.Value - before.GetValueOrDefault(kv.Key)}"));

    /// <summary>A python3 TCP sink (argv: address port): accepts one connection, reads it to its
    /// end and prints "BYTES SHA256 SECONDS" (seconds from accept to end of stream). Also the TAP tests'.</summary>
    public const string SinkScript = """
        import hashlib, socket, sys, time
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((sys.argv[1], int(sys.argv[2])))
        l.listen(1)
        c, _ = l.accept()
        t0 = time.monotonic()
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b: break
            h.update(b)
            n += len(b)
        t = time.monotonic() - t0
        c.close()
        print(n, h.hexdigest(), "%.6f" % t)
        """;

    /// <summary>A file of <paramref name="bytes"/> seeded random bytes in a directory of its
    /// own, readable by anyone (python3's http.server); the directory and the SHA-256.</summary>
    public (string Dir, string Name, string Sha256) RandomFile(long bytes)
    {
        string dir = Path.Combine(_sys.Dir, "www" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string name = "file.bin";
        string sha = WriteSeededFile(Path.Combine(dir, name), bytes);
        File.SetUnixFileMode(Path.Combine(dir, name), (UnixFileMode)0b110_100_100);
        return (dir, name, sha);
    }

    /// <summary>BenchInstance.WriteSeededFile (also the TAP tests' files).</summary>
    public static string WriteSeededFile(string path, long bytes) => BenchInstance.WriteSeededFile(path, bytes);

    /// <summary>Starts <paramref name="command"/> in namespace <paramref name="ns"/> (default: the
    /// instance's), stopped at Dispose. Output is read by the caller or dropped (<paramref name="drop"/>).</summary>
    public Process StartLinux(string[] command, string? workingDirectory = null, string? ns = null, bool drop = false)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (string a in new[] { "netns", "exec", ns ?? Namespace }.Concat(command)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ip netns exec");
        lock (_linux) _linux.Add(p);
        if (drop)
        {
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
        }
        return p;
    }

    /// <summary>Runs <paramref name="command"/> in namespace <paramref name="ns"/> to its end.</summary>
    public static (int Code, string Stdout, string Stderr) ExecIn(string ns, string[] command, int timeoutS = 60)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns }.Concat(command)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ip netns exec");
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutS * 1000))
        {
            p.Kill(true);
            throw new TimeoutException($"{string.Join(' ', command)} in {ns} did not end within {timeoutS} s");
        }
        return (p.ExitCode, output.Result, err.Result);
    }

    private void InNamespace(string[] command)
    {
        var (code, _, err) = ExecIn(Namespace, command);
        if (code != 0) throw new InvalidOperationException($"{string.Join(' ', command)} in {Namespace} exited {code}: {err}");
    }

    /// <summary>Waits until a TCP server listens on <paramref name="port"/> in namespace <paramref name="ns"/>.</summary>
    public void WaitListening(int port, string? ns = null) =>
        WaitUntil(() => ExecIn(ns ?? Namespace, ["ss", "-ltnH", $"sport = :{port}"]).Stdout.Trim().Length > 0, 30, $"a Linux server on port {port}");

    public static void Ip(string[] args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ip");
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException("ip " + string.Join(' ', args)); }
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}");
    }

    public void Dispose()
    {
        lock (_linux)
        {
            foreach (var p in _linux)
            {
                try { if (!p.HasExited) p.Kill(true); }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
            _linux.Clear();
        }
        _sys?.Dispose();
        Ip(["netns", "del", Namespace], check: false);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    private const int CLONE_NEWNET = 0x40000000;

    /// <summary>A thread inside namespace <paramref name="ns"/> that reads the frames Linux has
    /// received on <paramref name="ifname"/> (/proc/thread-self/net/dev, the thread's namespace).</summary>
    public static FrameCounter FramesFromBulkhead(string ns, string ifname) => new(ns, ifname);

    /// <summary>Linux's receive-packet counter of one interface, read on a dedicated thread that
    /// entered the namespace; Watch() waits, polling every millisecond, for it to move.</summary>
    public sealed class FrameCounter : IDisposable
    {
        private readonly string _ifname;
        private readonly Thread _thread;
        /// <summary>One request at a time from the benchmark's thread to the counter's.</summary>
        private readonly System.Collections.Concurrent.BlockingCollection<(int TimeoutS, TaskCompletionSource<long?> Done)> _ask = new(1);
        private volatile bool _stop;
        private string? _error;

        internal FrameCounter(string ns, string ifname)
        {
            _ifname = ifname;
            using var ready = new ManualResetEventSlim();
            _thread = new Thread(() =>
            {
                using (var f = File.OpenHandle(Path.Combine("/var/run/netns", ns), FileMode.Open, FileAccess.Read))
                    if (setns((int)f.DangerousGetHandle(), CLONE_NEWNET) != 0) _error = $"setns {ns}: errno {Marshal.GetLastPInvokeError()}";
                if (_error is null && Read() < 0) _error = $"{ifname} is not in /proc/net/dev of {ns}";
                ready.Set();
                if (_error is null) Serve();
            }) { IsBackground = true, Name = "bench frame counter" };
            _thread.Start();
            ready.Wait();
            if (_error is not null) throw new InvalidOperationException("bench: " + _error);
        }

        /// <summary>From now (the counter read first, 2 ms on), the Stopwatch timestamp at which
        /// the counter first moved, polled every millisecond; null after <paramref name="timeoutS"/>.</summary>
        public long? WaitForNext(int timeoutS)
        {
            var task = new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ask.Add((timeoutS, task));
            return task.Task.Result;
        }

        private void Serve()
        {
            while (!_stop)
            {
                if (!_ask.TryTake(out var ask, 200)) continue;
                var (timeoutS, task) = ask;
                // After the kill, a port write the dead driver had already trapped may still
                // reach the card; a new instance needs far longer than this to start.
                Thread.Sleep(2);
                long baseline = Read(), deadline = Stopwatch.GetTimestamp() + timeoutS * Stopwatch.Frequency;
                long? seen = null;
                while (!_stop && Stopwatch.GetTimestamp() < deadline)
                {
                    if (Read() != baseline) { seen = Stopwatch.GetTimestamp(); break; }
                    Thread.Sleep(1);
                }
                task.SetResult(seen);
            }
        }

        /// <summary>The interface's receive packets in this thread's namespace, -1 if absent.</summary>
        private long Read()
        {
            foreach (var line in File.ReadLines("/proc/thread-self/net/dev"))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0 || line.AsSpan(0, colon).Trim().SequenceEqual(_ifname) is false) continue;
                var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(f[1], CultureInfo.InvariantCulture); // bytes, packets, ...
            }
            return -1;
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            _ask.Dispose();
        }
    }
}
