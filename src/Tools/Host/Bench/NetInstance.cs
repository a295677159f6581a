// A booted Bulkhead instance on Linux TAP interfaces, with Linux's ends in a network namespace,
// for the benchmarks that measure INET against real Linux peers (bench netrecovery, bench tcp).
// It boots the way a user does: bulkhead-kernel (the NativeAOT build the launcher publishes,
// else the JIT one) as a child process, with a run directory of its own and a copy of
// etc/boot.conf whose eth0 (NE2000) and eth1 (RTL8139) have `backend tap IFNAME` instead of
// `backend none`, without the IPC demo (echo, ipcping), and init running a copy of etc/rc whose
// driver lines add -nobackoff, with RS given no failure limit (the thesis restarted "without
// introducing delays", §5.2.2); the rc has RS start dp8390, rtl8139 and INET (etc/inet.conf). Once the
// kernel answers on its control socket, the Linux end of each TAP is moved into the namespace
// and given the address etc/inet.conf expects there (10.0.2.1/24 on eth0, 10.0.3.1/24 on
// eth1), and the instance is ready when INET has logged both drivers up (system.log).
// Programs run through the control socket's `run` request (ControlClient.Run, as `./bulkhead
// run` does), with stdin from a file or /dev/null and stdout/stderr into files; the driver is
// killed by the host pid that `ps` names. Linux programs run in the namespace (`ip netns exec`).
// FramesFromBulkhead reads, on a thread inside the namespace, Linux's receive counter of a TAP
// (/proc/thread-self/net/dev): every frame Bulkhead's card put on the wire.
// Rules: needs root (TAP, namespaces); Dispose shuts the instance down (control `shutdown`,
// SIGKILL after 30 s), deletes the namespace and the temporary directory; a constructor that
// fails leaves nothing behind.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Control;

namespace Bulkhead.Host.Bench;

internal sealed partial class NetInstance : IDisposable
{
    /// <summary>A card of the instance: its DS label (the driver's) and process name, the
    /// driver, INET's address on it, Linux's, and the Linux end of its TAP.</summary>
    public sealed record Card(string Label, string Driver, string Inet, string Linux, string Interface);

    private readonly Process _kernel;
    private readonly string _dir;
    private readonly List<Process> _linux = [];
    private readonly Queue<string> _kernelOutput = new();

    public string Namespace { get; }
    public string RunDir { get; }
    public string Socket => Path.Combine(RunDir, "control.sock");
    public string SystemLog => Path.Combine(RunDir, "system.log");
    /// <summary>The kernel binary booted: "nativeaot" or "jit".</summary>
    public string KernelKind { get; }
    public Card Ne2000 { get; }
    public Card Rtl8139 { get; }

    /// <summary>The last answer to `ps`, for diagnostics.</summary>
    public string? LastPs { get; private set; }

    public Card CardOf(string driver) => driver == "dp8390" ? Ne2000 : Rtl8139;

    public NetInstance(string root, string image)
    {
        int id = Environment.ProcessId % 100000;
        Namespace = $"bh-bench-{id}";
        Ne2000 = new Card("eth0", "dp8390", "10.0.2.15", "10.0.2.1", $"bhb{id}e0");
        Rtl8139 = new Card("eth1", "rtl8139", "10.0.3.15", "10.0.3.1", $"bhb{id}e1");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("bench: Linux only");
        _dir = Directory.CreateTempSubdirectory("bulkhead-bench-net-").FullName;
        // Readable by init (its own uid; it reads the rc copy) and python3's http.server.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        RunDir = Path.Combine(_dir, "run");
        string kernelPath = Boot.KernelLauncher.KernelPath;
        KernelKind = kernelPath.Contains("/out/aot/", StringComparison.Ordinal) ? "nativeaot" : "jit";
        string conf = WriteBootConf(root);
        Ip(["netns", "del", Namespace], check: false); // left over by a run that was killed
        Ip(["netns", "add", Namespace]);
        var psi = new ProcessStartInfo(kernelPath) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "--root", root, "--run", RunDir, "--client", Path.Combine(RunDirectory.BinDir, "bulkhead-host"), "--config", conf })
            psi.ArgumentList.Add(a);
        psi.Environment[RunDirectory.ImageVariable] = image;
        psi.Environment["DOTNET_ROOT"] = RunDirectory.DotnetRoot();
        try
        {
            _kernel = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {kernelPath}");
        }
        catch
        {
            Cleanup();
            throw;
        }
        _kernel.OutputDataReceived += (_, e) => KeepOutput(e.Data);
        _kernel.ErrorDataReceived += (_, e) => KeepOutput(e.Data);
        _kernel.BeginOutputReadLine();
        _kernel.BeginErrorReadLine();
        try
        {
            WaitUntil(() => ControlClient.Answers(Socket), 120, "the instance to answer on its control socket");
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

    /// <summary>etc/boot.conf with eth0 and eth1 on TAP backends and the disk image in the run
    /// directory; its path.</summary>
    private string WriteBootConf(string root)
    {
        var lines = File.ReadAllLines(Path.Combine(root, "etc", "boot.conf"));
        string? device = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string t = lines[i].Trim();
            if (t.StartsWith("device ", StringComparison.Ordinal)) device = t.Split(' ')[1];
            if (!t.StartsWith("backend ", StringComparison.Ordinal)) continue;
            string? tap = device == Ne2000.Label ? Ne2000.Interface : device == Rtl8139.Label ? Rtl8139.Interface : null;
            if (tap is not null) lines[i] = $"    backend tap {tap};";
        }
        if (!lines.Any(l => l.Contains($"backend tap {Ne2000.Interface};", StringComparison.Ordinal)) ||
            !lines.Any(l => l.Contains($"backend tap {Rtl8139.Interface};", StringComparison.Ordinal)))
            throw new InvalidOperationException("etc/boot.conf has no backend line in device eth0 or eth1");
        // The thesis's policy for these runs (§5.2.2): "directly restarted the driver without
        // introducing delays" — so RS keeps no failure limit, and etc/rc's driver lines get
        // -nobackoff (MINIX's -b) in a copy that init runs instead.
        // (-config names a file relative to the rc's directory: the copy names etc/'s.)
        string rc = Path.Combine(_dir, "rc");
        File.WriteAllLines(rc, File.ReadAllLines(Path.Combine(root, "etc", "rc"))
            .Select(l => l.StartsWith("service up image:dp8390 ", StringComparison.Ordinal) || l.StartsWith("service up image:rtl8139 ", StringComparison.Ordinal)
                ? l + " -nobackoff" : l.Replace("-config inet.conf", $"-config {Path.Combine(root, "etc", "inet.conf")}", StringComparison.Ordinal)));
        Replace(lines, "args \"$ROOT/etc/rc\";", $"args \"{rc}\";");
        Replace(lines, "args \"$ROOT/etc/drivers.conf\";", "args \"$ROOT/etc/drivers.conf max_failures=1000000\";");
        // The IPC demo (echo, ipcping) is left out: nothing here uses it, and ipcping, which
        // has no fixed slot, can find the endpoint it would get taken by a driver that etc/rc
        // started first (boot then stops with EBUSY).
        lines = WithoutSection(WithoutSection(lines, "process echo {"), "process ipcping {");
        string file = Path.Combine(_dir, "boot.conf");
        File.WriteAllLines(file, lines);
        return file;
    }

    /// <summary><paramref name="lines"/> without the section that starts with the line
    /// <paramref name="header"/> and ends with the next line "};".</summary>
    private static string[] WithoutSection(string[] lines, string header)
    {
        int start = Array.FindIndex(lines, l => l.Trim() == header);
        if (start < 0) return lines;
        int end = Array.FindIndex(lines, start, l => l.Trim() == "};");
        return end < 0 ? lines : [.. lines[..start], .. lines[(end + 1)..]];
    }

    /// <summary>Replaces the one line of <paramref name="lines"/> whose text starts with
    /// <paramref name="old"/> (indentation aside) by <paramref name="new"/> with the same
    /// indentation and what followed <paramref name="old"/> on it; or throws.</summary>
    private static void Replace(string[] lines, string old, string @new)
    {
        int at = Array.FindIndex(lines, l => l.TrimStart().StartsWith(old, StringComparison.Ordinal));
        if (at < 0) throw new InvalidOperationException($"etc/boot.conf has no line '{old}'");
        string line = lines[at];
        int indent = line.Length - line.TrimStart().Length;
        lines[at] = line[..indent] + @new + line[(indent + old.Length)..];
    }

    private void KeepOutput(string? line)
    {
        if (line is null) return;
        lock (_kernelOutput)
        {
            _kernelOutput.Enqueue(line);
            while (_kernelOutput.Count > 40) _kernelOutput.Dequeue();
        }
    }

    /// <summary>Waits for <paramref name="done"/>; throws, with the kernel's output and the
    /// log's end, after <paramref name="seconds"/> or when the kernel has exited.</summary>
    public void WaitUntil(Func<bool> done, int seconds, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!done())
        {
            if (_kernel.HasExited || sw.Elapsed.TotalSeconds > seconds)
                throw new InvalidOperationException($"bench: waited in vain for {what}{(_kernel.HasExited ? " (the kernel exited)" : "")}\n{Diagnostics()}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The kernel's last output lines and the end of the system log.</summary>
    public string Diagnostics()
    {
        string output;
        lock (_kernelOutput) output = string.Join('\n', _kernelOutput);
        string log = "";
        // Every `ps` runs a `service list` component, whose exit the kernel logs: left out.
        try { log = string.Join('\n', File.ReadLines(SystemLog).Where(l => !l.Contains("kernel: service (endpoint", StringComparison.Ordinal)).TakeLast(30)); }
        catch (IOException) { }
        return $"kernel output:\n{output}\nlast ps:\n{LastPs}\nsystem log ({SystemLog}):\n{log}";
    }

    /// <summary>How often INET has attached an instance of <paramref name="card"/>'s driver (its
    /// log line `inet: LABEL: driver LABEL (EP) up, …`).</summary>
    public int Attachments(Card card)
    {
        try
        {
            string prefix = $"inet: {card.Label}: driver {card.Label} (";
            return File.ReadLines(SystemLog).Count(l => l.Contains(prefix, StringComparison.Ordinal) && l.Contains(") up, ", StringComparison.Ordinal));
        }
        catch (IOException) { return 0; }
    }

    /// <summary>The host pid of <paramref name="card"/>'s driver when `ps` shows it running
    /// for RS (else null), and RS's restart count of it.</summary>
    public (int? Pid, int Restarts) Driver(Card card)
    {
        string? ps = ControlClient.Ask(Socket, "ps", 30_000);
        LastPs = ps;
        if (ps is null || ps.StartsWith("error:", StringComparison.Ordinal)) return (null, -1);
        var lines = ps.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int pidAt = Array.IndexOf(header, "PID"), svcAt = Array.IndexOf(header, "SVC_STATE"), restartsAt = Array.IndexOf(header, "RESTARTS");
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length <= restartsAt || f[2] != card.Label) continue;
            int restarts = int.TryParse(f[restartsAt], NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) ? r : -1;
            bool running = f[svcAt] == "running" && int.TryParse(f[pidAt], NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
            return (running ? int.Parse(f[pidAt], CultureInfo.InvariantCulture) : null, restarts);
        }
        return (null, -1);
    }

    /// <summary>Runs a Bulkhead program through the control socket (`run`), stdin from
    /// <paramref name="stdinFile"/> (else /dev/null); its exit status, stdout and stderr.
    /// Throws after <paramref name="timeoutS"/> (the instance's shutdown ends the program).</summary>
    public (int Status, string Stdout, string Stderr) Run(string[] args, int timeoutS, string? stdinFile = null)
    {
        string tag = Guid.NewGuid().ToString("N");
        string outFile = Path.Combine(_dir, tag + ".out"), errFile = Path.Combine(_dir, tag + ".err");
        string answer;
        using (var stdin = File.OpenHandle(stdinFile ?? "/dev/null", FileMode.Open, FileAccess.Read))
        using (var stdout = File.OpenHandle(outFile, FileMode.Create, FileAccess.Write))
        using (var stderr = File.OpenHandle(errFile, FileMode.Create, FileAccess.Write))
        {
            int[] fds = [(int)stdin.DangerousGetHandle(), (int)stdout.DangerousGetHandle(), (int)stderr.DangerousGetHandle()];
            var run = Task.Run(() => ControlClient.Run(Socket, args, fds));
            if (!run.Wait(TimeSpan.FromSeconds(timeoutS)))
                throw new TimeoutException($"bench: {string.Join(' ', args)} did not end within {timeoutS} s\n{Diagnostics()}");
            answer = run.Result ?? "error: the instance did not answer";
        }
        string o = File.ReadAllText(outFile), e = File.ReadAllText(errFile);
        File.Delete(outFile);
        File.Delete(errFile);
        if (!answer.StartsWith("exit ", StringComparison.Ordinal))
            throw new InvalidOperationException($"bench: run {string.Join(' ', args)}: {answer.Trim()}\n{o}{e}");
        return (int.Parse(answer.AsSpan(5).Trim(), CultureInfo.InvariantCulture), o, e);
    }

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
        string dir = Path.Combine(_dir, "www" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string name = "file.bin";
        string sha = WriteSeededFile(Path.Combine(dir, name), bytes);
        File.SetUnixFileMode(Path.Combine(dir, name), (UnixFileMode)0b110_100_100);
        return (dir, name, sha);
    }

    /// <summary>Writes <paramref name="bytes"/> random bytes seeded by their count to
    /// <paramref name="path"/>; their SHA-256 in lower-case hex. (Also the TAP tests' files.)</summary>
    public static string WriteSeededFile(string path, long bytes)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using (var f = File.Create(path))
        {
            var buf = new byte[1 << 20];
            var rng = new Random(unchecked((int)bytes));
            for (long left = bytes; left > 0; left -= buf.Length)
            {
                rng.NextBytes(buf);
                int n = (int)Math.Min(left, buf.Length);
                f.Write(buf, 0, n);
                sha.AppendData(buf, 0, n);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

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
        if (!_kernel.HasExited)
        {
            ControlClient.Ask(Socket, "shutdown", 10_000);
            if (!_kernel.WaitForExit(30_000)) _kernel.Kill(true);
            _kernel.WaitForExit();
        }
        _kernel.Dispose();
        Cleanup();
    }

    private void Cleanup()
    {
        Ip(["netns", "del", Namespace], check: false);
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
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
