// A booted Bulkhead instance for the benchmarks that measure a whole system from outside (bench
// netrecovery, tcp, disk). It boots the way a user does: bulkhead-kernel (the NativeAOT build
// the launcher publishes, else the JIT one) as a child process, with a run directory of its
// own (so its disk image is new: the first boot formats it) and a copy of etc/boot.conf that
// the runner may edit further, without the IPC demo (echo, ipcping), with RS given no failure
// limit, and init running a copy of etc/rc in which the services the runner names get
// -nobackoff (MINIX's -b): the thesis's recovery runs "directly restarted the driver without
// introducing delays" (§5.2.2).
// Programs run through the control socket's `run` request (ControlClient.Run, as `./bulkhead
// run` does) with stdin, stdout and stderr from files or pipes the runner holds; a service is
// killed by the host pid that `ps` names.
// Rules: Dispose shuts the instance down (control `shutdown`, SIGKILL after 30 s) and deletes
// the temporary directory; a constructor that fails leaves nothing behind.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Control;

namespace Bulkhead.Host.Bench;

internal sealed partial class BenchInstance : IDisposable
{
    private readonly Process _kernel;
    private readonly Queue<string> _kernelOutput = new();

    /// <summary>The instance's temporary directory (run directory, boot.conf and rc copies, the runner's files).</summary>
    public string Dir { get; }
    public string RunDir { get; }
    public string Socket => Path.Combine(RunDir, "control.sock");
    public string SystemLog => Path.Combine(RunDir, "system.log");
    /// <summary>The kernel binary booted: "nativeaot" or "jit".</summary>
    public string KernelKind { get; }
    /// <summary>The last answer to `ps`, for diagnostics.</summary>
    public string? LastPs { get; private set; }

    /// <param name="name">a word for the temporary directory's name</param>
    /// <param name="editBootConf">changes the runner makes to the boot.conf copy (null: none)</param>
    /// <param name="editRc">changes to one line of the rc copy, after -nobackoff (null: none)</param>
    /// <param name="noBackoff">the etc/rc program images (`service up image:NAME`) that get -nobackoff</param>
    public BenchInstance(string root, string image, string name, Func<string[], string[]>? editBootConf, Func<string, string>? editRc, params string[] noBackoff)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("bench: Linux only");
        Dir = Directory.CreateTempSubdirectory($"bulkhead-bench-{name}-").FullName;
        // Readable by init (its own uid; it reads the rc copy) and by Linux peers (python3's http.server).
        File.SetUnixFileMode(Dir, (UnixFileMode)0b111_101_101);
        RunDir = Path.Combine(Dir, "run");
        string kernelPath = Boot.KernelLauncher.KernelPath;
        KernelKind = kernelPath.Contains("/out/aot/", StringComparison.Ordinal) ? "nativeaot" : "jit";
        try
        {
            string conf = WriteBootConf(root, editBootConf, editRc, noBackoff);
            var psi = new ProcessStartInfo(kernelPath) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (string a in new[] { "--root", root, "--run", RunDir, "--client", Path.Combine(RunDirectory.BinDir, "bulkhead-host"), "--config", conf })
                psi.ArgumentList.Add(a);
            psi.Environment[RunDirectory.ImageVariable] = image;
            psi.Environment["DOTNET_ROOT"] = RunDirectory.DotnetRoot();
            _kernel = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {kernelPath}");
        }
        catch
        {
            DeleteDir();
            throw;
        }
        _kernel.OutputDataReceived += (_, e) => KeepOutput(e.Data);
        _kernel.ErrorDataReceived += (_, e) => KeepOutput(e.Data);
        _kernel.BeginOutputReadLine();
        _kernel.BeginErrorReadLine();
        try
        {
            WaitUntil(() => ControlClient.Answers(Socket), 120, "the instance to answer on its control socket");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The boot.conf copy (see the file's head); its path.</summary>
    private string WriteBootConf(string root, Func<string[], string[]>? editBootConf, Func<string, string>? editRc, string[] noBackoff)
    {
        var lines = File.ReadAllLines(Path.Combine(root, "etc", "boot.conf"));
        string rc = Path.Combine(Dir, "rc");
        File.WriteAllLines(rc, File.ReadAllLines(Path.Combine(root, "etc", "rc")).Select(l =>
        {
            if (noBackoff.Any(i => l.StartsWith($"service up image:{i} ", StringComparison.Ordinal))) l += " -nobackoff";
            // -config and -recovery name files relative to the rc's directory: the copy names etc/'s.
            l = RelativeFile().Replace(l, m => $"-{m.Groups[1].Value} {m.Groups[2].Value}{Path.Combine(root, "etc", m.Groups[3].Value)}");
            return editRc is null ? l : editRc(l);
        }));
        Replace(lines, "args \"$ROOT/etc/rc\";", $"args \"{rc}\";");
        Replace(lines, "args \"$ROOT/etc/drivers.conf\";", "args \"$ROOT/etc/drivers.conf max_failures=1000000\";");
        // The IPC demo (echo, ipcping) is left out: nothing here uses it.
        lines = WithoutSection(WithoutSection(lines, "process echo {"), "process ipcping {");
        if (editBootConf is not null) lines = editBootConf(lines);
        string file = Path.Combine(Dir, "boot.conf");
        File.WriteAllLines(file, lines);
        return file;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"-(config|recovery) (""?)([^/\s""]\S*)")]
    private static partial System.Text.RegularExpressions.Regex RelativeFile();

    /// <summary><paramref name="lines"/> without the section that starts with the line
    /// <paramref name="header"/> and ends with the next line "};".</summary>
    public static string[] WithoutSection(string[] lines, string header)
    {
        int start = Array.FindIndex(lines, l => l.Trim() == header);
        if (start < 0) return lines;
        int end = Array.FindIndex(lines, start, l => l.Trim() == "};");
        return end < 0 ? lines : [.. lines[..start], .. lines[(end + 1)..]];
    }

    /// <summary>Replaces the one line of <paramref name="lines"/> whose text starts with
    /// <paramref name="old"/> (indentation aside) by <paramref name="new"/> with the same
    /// indentation and what followed <paramref name="old"/> on it; or throws.</summary>
    public static void Replace(string[] lines, string old, string @new)
    {
        int at = Array.FindIndex(lines, l => l.TrimStart().StartsWith(old, StringComparison.Ordinal));
        if (at < 0) throw new InvalidOperationException($"etc/boot.conf has no line '{old}'");
        string line = lines[at];
        int indent = line.Length - line.TrimStart().Length;
        lines[at] = line[..indent] + @new + line[(indent + old.Length)..];
    }

    /// <summary>In the section of device <paramref name="device"/>, replaces the line that
    /// starts with <paramref name="key"/> by "KEY VALUE;"; or throws.</summary>
    public static void SetDeviceKey(string[] lines, string device, string key, string value)
    {
        int start = Array.FindIndex(lines, l => l.Trim() == $"device {device} {{");
        int end = start < 0 ? -1 : Array.FindIndex(lines, start, l => l.Trim() == "};");
        int at = end < 0 ? -1 : Array.FindIndex(lines, start, end - start, l => l.TrimStart().StartsWith(key + " ", StringComparison.Ordinal));
        if (at < 0) throw new InvalidOperationException($"etc/boot.conf has no '{key}' in device {device}");
        lines[at] = $"    {key} {value};";
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

    /// <summary>Lines of the system log that <paramref name="match"/> accepts (0 before it exists).</summary>
    public int LogLines(Func<string, bool> match)
    {
        try { return File.ReadLines(SystemLog).Count(match); }
        catch (IOException) { return 0; }
    }

    /// <summary>The host pid of service <paramref name="label"/> when `ps` shows it running for
    /// RS (else null), and RS's restart count of it (-1 when `ps` does not list it).</summary>
    public (int? Pid, int Restarts) Service(string label) =>
        Services().TryGetValue(label, out var s) ? s : (null, -1);

    /// <summary>Every service `ps` lists with RS's state: its host pid when running (else null)
    /// and RS's restart count of it; empty when the instance does not answer.</summary>
    public Dictionary<string, (int? Pid, int Restarts)> Services()
    {
        string? ps = ControlClient.Ask(Socket, "ps", 30_000);
        LastPs = ps;
        return ParseServices(ps);
    }

    /// <summary>The services of a `ps` answer (Services); empty for none or an error.</summary>
    public static Dictionary<string, (int? Pid, int Restarts)> ParseServices(string? ps)
    {
        var map = new Dictionary<string, (int?, int)>(StringComparer.Ordinal);
        if (ps is null || ps.StartsWith("error:", StringComparison.Ordinal)) return map;
        var lines = ps.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int pidAt = Array.IndexOf(header, "PID"), svcAt = Array.IndexOf(header, "SVC_STATE"), restartsAt = Array.IndexOf(header, "RESTARTS");
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length <= restartsAt) continue;
            int restarts = int.TryParse(f[restartsAt], NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) ? r : -1;
            int? pid = f[svcAt] == "running" && int.TryParse(f[pidAt], NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) ? p : null;
            map[f[2]] = (pid, restarts);
        }
        return map;
    }

    /// <summary>The host pid of service <paramref name="label"/> once RS has it running as a
    /// process other than <paramref name="old"/>, and RS's restart count; throws after 60 s.</summary>
    public (int Pid, int Restarts) WaitRunning(string label, int? old)
    {
        (int Pid, int Restarts) found = default;
        WaitUntil(() =>
        {
            var (pid, restarts) = Service(label);
            if (pid is not { } p || p == old) return false;
            found = (p, restarts);
            return true;
        }, 60, $"RS to have {label} running");
        return found;
    }

    /// <summary>Kills service <paramref name="label"/> (SIGKILL to the host pid `ps` names)
    /// every <paramref name="intervalS"/> seconds from the previous kill until
    /// <paramref name="work"/> ends, as the thesis's test script did (§5.2.2); after each kill
    /// <paramref name="afterKill"/> gets the kill's Stopwatch timestamp, then the next pid is
    /// looked up once RS runs a new instance. The kills made.</summary>
    public int KillEvery(string label, int intervalS, Task work, Action<long>? afterKill = null)
    {
        int kills = 0;
        int pid = WaitRunning(label, null).Pid;
        long next = Stopwatch.GetTimestamp() + intervalS * Stopwatch.Frequency;
        while (true)
        {
            long wait = (next - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            if (work.Wait((int)Math.Max(0, wait))) return kills;
            long killed = Stopwatch.GetTimestamp();
            if (Bulkhead.Lib.Host.Native.kill(pid, Bulkhead.Lib.Host.Native.SIGKILL) != 0)
                throw new InvalidOperationException($"bench: kill {pid} ({label}) failed\n{Diagnostics()}");
            kills++;
            next = killed + intervalS * Stopwatch.Frequency;
            afterKill?.Invoke(killed);
            pid = WaitRunning(label, pid).Pid;
        }
    }

    /// <summary>Runs a Bulkhead program through the control socket (`run`), stdin from
    /// <paramref name="stdinFile"/> (else /dev/null); its exit status, stdout and stderr.
    /// Throws after <paramref name="timeoutS"/> (the instance's shutdown ends the program).</summary>
    public (int Status, string Stdout, string Stderr) Run(string[] args, int timeoutS, string? stdinFile = null)
    {
        string tag = Guid.NewGuid().ToString("N");
        string outFile = Path.Combine(Dir, tag + ".out");
        int status;
        string e;
        using (var stdout = File.OpenHandle(outFile, FileMode.Create, FileAccess.Write))
            (status, e) = RunTo(args, timeoutS, (int)stdout.DangerousGetHandle(), stdinFile);
        string o = File.ReadAllText(outFile);
        File.Delete(outFile);
        return (status, o, e);
    }

    /// <summary>Runs a Bulkhead program whose stdout is host descriptor <paramref name="stdoutFd"/>
    /// (a pipe the caller drains, or a file); its exit status and stderr. Throws as Run does.</summary>
    public (int Status, string Stderr) RunTo(string[] args, int timeoutS, int stdoutFd, string? stdinFile = null)
    {
        string errFile = Path.Combine(Dir, Guid.NewGuid().ToString("N") + ".err");
        string answer;
        using (var stdin = File.OpenHandle(stdinFile ?? "/dev/null", FileMode.Open, FileAccess.Read))
        using (var stderr = File.OpenHandle(errFile, FileMode.Create, FileAccess.Write))
        {
            int[] fds = [(int)stdin.DangerousGetHandle(), stdoutFd, (int)stderr.DangerousGetHandle()];
            var run = Task.Run(() => ControlClient.Run(Socket, args, fds));
            if (!run.Wait(TimeSpan.FromSeconds(timeoutS)))
                throw new TimeoutException($"bench: {string.Join(' ', args)} did not end within {timeoutS} s\n{Diagnostics()}");
            answer = run.Result ?? "error: the instance did not answer";
        }
        string err = File.ReadAllText(errFile);
        File.Delete(errFile);
        if (!answer.StartsWith("exit ", StringComparison.Ordinal))
            throw new InvalidOperationException($"bench: run {string.Join(' ', args)}: {answer.Trim()}\n{err}");
        return (int.Parse(answer.AsSpan(5).Trim(), CultureInfo.InvariantCulture), err);
    }

    /// <summary>Writes <paramref name="bytes"/> random bytes seeded by their count to
    /// <paramref name="path"/>; their SHA-256 in lower-case hex. (Also the TAP tests' files.)</summary>
    public static string WriteSeededFile(string path, long bytes) =>
        WriteSeededFile(path, bytes, System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>As WriteSeededFile, with the hash <paramref name="hash"/> of the bytes, from the
    /// seed <paramref name="seed"/> (default: the size).</summary>
    public static string WriteSeededFile(string path, long bytes, System.Security.Cryptography.HashAlgorithmName hash, int? seed = null)
    {
        using var h = System.Security.Cryptography.IncrementalHash.CreateHash(hash);
        using (var f = File.Create(path))
        {
            var buf = new byte[1 << 20];
            var rng = new Random(seed ?? unchecked((int)bytes));
            for (long left = bytes; left > 0; left -= buf.Length)
            {
                rng.NextBytes(buf);
                int n = (int)Math.Min(left, buf.Length);
                f.Write(buf, 0, n);
                h.AppendData(buf, 0, n);
            }
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    public void Dispose()
    {
        if (!_kernel.HasExited)
        {
            ControlClient.Ask(Socket, "shutdown", 10_000);
            if (!_kernel.WaitForExit(30_000)) _kernel.Kill(true);
            _kernel.WaitForExit();
        }
        _kernel.Dispose();
        DeleteDir();
    }

    private void DeleteDir()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
    }
}
