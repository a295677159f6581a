// `bulkhead bench disk [--json] [--size MiB] [--n N]`: the storage stack measured from outside
// (issue 11), in one run on one booted instance (BenchInstance: etc/boot.conf with disk0 sized
// for the file, etc/rc's storage stack, at_wini restarted without backoff):
//   unit sizes   thesis Figs. 5.12 and 5.13: reads at unit sizes 1 KiB … 4 MiB, `dd bs=UNIT` of
//                the raw block device /dev/c0d0 and of a file, against the host reading the
//                same image file (disk0.img) with pread(2) at the same sizes; per size the time
//                per call, MB/s and the ratio to the host (goal: raw reads at 64 KiB ≥ 0.7 of
//                the host's throughput). Bulkhead's figures are dd's own report (its clock,
//                inside the instance); dd's output goes to the host's /dev/null.
//   syscalls     thesis Fig. 5.11: the file calls of FsCalls (lseek, open+close, read and
//                write 64k+lseek, creat+wr+del, mkdir+rmdir, rename), the program
//                `bench-fscalls` through VFS against the same loop on Linux's tmpfs (/dev/shm);
//                median ns per call and the ratio Bulkhead ÷ Linux (--n repetitions, default 2000).
//   recovery     thesis Fig. 5.17 (§5.2.2): `dd if=FILE bs=64k` of a --size MiB file (default
//                1024) of seeded random bytes, its output piped into a SHA-1 on the host (the
//                thesis's `dd | sha1sum`), with at_wini killed (SIGKILL, its host pid from `ps`)
//                every 1, 2, 4, 8 and 15 s and not at all; throughput, kills, RS's restarts, SHA-1
//                match; the ratio 1 kill/s ÷ no kills (goal ≥ 0.90; the thesis lost 62 %).
//                Charts like the thesis's figures in out/bench/ (PNG and SVG).
// The file is written once, through `dd of=FILE bs=64k` from a host file (its write throughput
// is reported too), and synced; MFS's cache (1 MiB) holds none of it by the time it is read.
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Bulkhead.Bench;
using Bulkhead.Lib.Host;

namespace Bulkhead.Host.Bench;

internal static partial class DiskBench
{
    private static readonly int[] s_units = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
    private static readonly int[] s_intervals = [0, 1, 2, 4, 8, 15]; // 0: no kills
    public const double GoalRawRatio = 0.7, GoalRecoveryRatio = 0.90;
    private const string File = "/bench.dat", Label = "c0d0";

    public sealed record Unit(int Bytes, long Count, double RawUs, double FileUs, double HostUs)
    {
        public double Mbps(double us) => us > 0 ? Bytes / us : 0; // bytes per µs = MB/s
    }

    public sealed record Recovery(int IntervalS, double Mbps, double Seconds, int Kills, int Restarts, bool ChecksumOk, string Error);

    public static int Run(string[] args)
    {
        var (json, n) = BenchHost.ParseArgs(args, defaultN: 2000);
        if (!BenchHost.TrySizeMiB(args, "disk", defaultMiB: 1024, out int sizeMiB)) return 2;
        if (!BenchHost.TryImage("disk", out string root, out string image)) return 1;
        long size = (long)sizeMiB << 20;
        // Room for the file, the root file system's own files and MFS's metadata (a 1 KiB-block
        // file has an indirect block per 256 data blocks).
        long diskMiB = sizeMiB + sizeMiB / 64 + 128;
        using var sys = new BenchInstance(root, image, "disk", lines =>
        {
            BenchInstance.SetDeviceKey(lines, "disk0", "size", $"{diskMiB}M");
            return lines;
        }, null, "at_wini");
        sys.WaitUntil(() => sys.LogLines(l => l.Contains("vfs: mounted mfs_root", StringComparison.Ordinal)) > 0, 120, "VFS to mount the root file system");
        string diskImage = Path.Combine(sys.RunDir, "disk0.img");

        Say(json, $"bench disk: writing a {sizeMiB} MiB file...");
        string data = Path.Combine(sys.Dir, "data.bin");
        string sha1 = BenchInstance.WriteSeededFile(data, size, HashAlgorithmName.SHA1);
        var written = Dd(sys, ["dd", $"of={File}", "bs=64k"], stdinFile: data);
        System.IO.File.Delete(data);
        Require(sys, sys.Run(["sync"], 600).Status == 0, "sync failed");

        var units = new List<Unit>();
        foreach (int unit in s_units)
        {
            Say(json, $"bench disk: reads of {Human(unit)}...");
            long bytes = Math.Min(64L << 20, unit * 8192L);
            bytes = Math.Min(bytes, size / unit * unit);
            long count = bytes / unit;
            var raw = Dd(sys, ["dd", "if=/dev/c0d0", $"bs={unit}", $"count={count}"]);
            var file = Dd(sys, ["dd", $"if={File}", $"bs={unit}", $"count={count}"]);
            double host = HostReads(diskImage, unit, count);
            units.Add(new Unit(unit, count, raw.Seconds * 1e6 / count, file.Seconds * 1e6 / count, host));
        }

        Say(json, "bench disk: file calls (Fig. 5.11)...");
        var calls = SysCalls(sys, n);

        var recovery = new List<Recovery>();
        foreach (int interval in s_intervals)
        {
            Say(json, $"bench disk: dd | sha1 of {sizeMiB} MiB, {(interval == 0 ? "no kills" : $"at_wini killed every {interval} s")}...");
            recovery.Add(MeasureRecovery(sys, size, sha1, interval));
        }
        var charts = new[]
        {
            BenchChart.UnitSizes(root, "disk-units", units.Select(u => (Human(u.Bytes), u.Mbps(u.RawUs), u.Mbps(u.FileUs), u.Mbps(u.HostUs))).ToList()),
            BenchChart.Recovery(root, "disk-recovery", $"dd of a {sizeMiB} MiB file | sha1, at_wini killed (SIGKILL) every N s",
                recovery.Select(r => (r.IntervalS, r.Mbps, r.Kills, r.ChecksumOk ? "" : "BAD SHA-1")).ToList(), 32.7, "thesis, no kills: 32.7 MB/s"),
        };
        Print(json, sizeMiB, sys.KernelKind, written, units, calls, recovery, charts);
        return recovery.All(r => r.ChecksumOk) ? 0 : 1;
    }

    private static void Say(bool json, string what)
    {
        if (!json) Console.Error.WriteLine(what);
    }

    private static void Require(BenchInstance sys, bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException($"bench disk: {what}\n{sys.Diagnostics()}");
    }

    private static string Human(int bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";

    /// <summary>dd's report: bytes copied and its seconds. Its stdout goes to the host's /dev/null.</summary>
    private static (long Bytes, double Seconds) Dd(BenchInstance sys, string[] args, string? stdinFile = null)
    {
        using var sink = System.IO.File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write);
        var (status, err) = sys.RunTo(args, 3600, (int)sink.DangerousGetHandle(), stdinFile);
        var m = DdReport().Match(err);
        Require(sys, status == 0 && m.Success, $"{string.Join(' ', args)} exited {status}: {err.Trim()}");
        return (long.Parse(m.Groups["bytes"].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups["seconds"].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"(?<bytes>\d+) bytes .*copied, (?<seconds>[0-9.]+) s")]
    private static partial Regex DdReport();

    /// <summary>µs per pread(2) of <paramref name="unit"/> bytes, <paramref name="count"/> in a row
    /// from the start of the image file (after one pass to have it in the page cache, as the
    /// model's reads have it).</summary>
    private static double HostReads(string path, int unit, long count)
    {
        using var f = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[unit];
        double best = double.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (long i = 0; i < count; i++)
                if (RandomAccess.Read(f, buffer, i * unit) != unit) throw new IOException($"bench disk: short read of {path}");
            double us = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / count;
            if (pass > 0) best = Math.Min(best, us);
        }
        return best;
    }

    private static List<(string Name, long Bulkhead, long Linux)> SysCalls(BenchInstance sys, int n)
    {
        var (status, stdout, stderr) = sys.Run(["bench-fscalls", "/bench-fscalls", n.ToString(CultureInfo.InvariantCulture)], 1800);
        Require(sys, status == 0, $"bench-fscalls exited {status}: {stdout}{stderr}");
        var bulkhead = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .ToDictionary(f => f[0].Replace('_', ' '), f => long.Parse(f[1], CultureInfo.InvariantCulture));
        string dir = Directory.CreateTempSubdirectory("bulkhead-fscalls-").FullName;
        string shm = Path.Combine("/dev/shm", Path.GetFileName(dir));
        Directory.Delete(dir);
        Directory.CreateDirectory(shm);
        try
        {
            var linux = FsCalls.Measure(new LibcCalls(), shm, n);
            return linux.Select(l => (l.Name, bulkhead.GetValueOrDefault(l.Name), l.MedianNs)).ToList();
        }
        finally
        {
            Directory.Delete(shm, recursive: true);
        }
    }

    private static Recovery MeasureRecovery(BenchInstance sys, long size, string sha1, int interval)
    {
        int restartsBefore = sys.WaitRunning(Label, null).Restarts;
        using var pipe = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
        var hashing = Task.Run(() =>
        {
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            var buffer = new byte[1 << 20];
            long total = 0;
            int got;
            while ((got = pipe.Read(buffer)) > 0)
            {
                h.AppendData(buffer, 0, got);
                total += got;
            }
            return (total, Convert.ToHexStringLower(h.GetHashAndReset()));
        });
        var sw = Stopwatch.StartNew();
        var dd = Task.Run(() =>
        {
            try { return sys.RunTo(["dd", $"if={File}", "bs=64k"], 3600, (int)pipe.ClientSafePipeHandle.DangerousGetHandle()); }
            finally { pipe.DisposeLocalCopyOfClientHandle(); }
        });
        int kills = interval > 0 ? sys.KillEvery(Label, interval, dd) : 0;
        var (status, err) = dd.Result;
        double wall = sw.Elapsed.TotalSeconds;
        if (!hashing.Wait(TimeSpan.FromSeconds(60))) return new Recovery(interval, 0, wall, kills, 0, false, "the pipe never reached its end");
        var (bytes, sha) = hashing.Result;
        int restarts = sys.WaitRunning(Label, null).Restarts - restartsBefore;
        var m = DdReport().Match(err);
        double seconds = m.Success ? double.Parse(m.Groups["seconds"].Value, CultureInfo.InvariantCulture) : wall;
        bool ok = status == 0 && bytes == size && sha == sha1;
        string error = ok ? "" : status != 0 ? $"dd exited {status}: {err.Trim()}" : $"{bytes} bytes, sha1 {sha}";
        return new Recovery(interval, bytes / seconds / 1e6, seconds, kills, restarts, ok, error);
    }

    private static void Print(bool json, int sizeMiB, string kernel, (long Bytes, double Seconds) written, List<Unit> units,
                              List<(string Name, long Bulkhead, long Linux)> calls, List<Recovery> recovery, (string Png, string Svg)[] charts)
    {
        static string Key(string s) => Regex.Replace(s.ToLowerInvariant(), "[^a-z0-9]+", "_").Trim('_');
        double none = recovery[0].Mbps, every1 = recovery.First(r => r.IntervalS == 1).Mbps;
        double recoveryRatio = none > 0 ? every1 / none : 0;
        var u64 = units.First(u => u.Bytes == 64 << 10);
        double rawRatio = u64.RawUs > 0 ? u64.HostUs / u64.RawUs : 0;
        var r = new List<(string Key, object Value)> { ("size_mib", sizeMiB), ("write_mbps", Math.Round(written.Bytes / written.Seconds / 1e6, 2)) };
        foreach (var u in units)
        {
            string k = Key(Human(u.Bytes));
            r.Add(($"raw_{k}_us", Math.Round(u.RawUs, 2)));
            r.Add(($"file_{k}_us", Math.Round(u.FileUs, 2)));
            r.Add(($"host_{k}_us", Math.Round(u.HostUs, 2)));
            r.Add(($"raw_{k}_mbps", Math.Round(u.Mbps(u.RawUs), 2)));
            r.Add(($"file_{k}_mbps", Math.Round(u.Mbps(u.FileUs), 2)));
            r.Add(($"host_{k}_mbps", Math.Round(u.Mbps(u.HostUs), 2)));
            r.Add(($"raw_{k}_ratio_to_host", Math.Round(u.HostUs / u.RawUs, 3)));
            r.Add(($"file_{k}_ratio_to_host", Math.Round(u.HostUs / u.FileUs, 3)));
        }
        foreach (var (name, b, l) in calls)
        {
            r.Add(($"call_{Key(name)}_ns", b));
            r.Add(($"call_{Key(name)}_linux_ns", l));
            r.Add(($"call_{Key(name)}_ratio", l > 0 ? Math.Round((double)b / l, 2) : 0));
        }
        foreach (var c in recovery)
        {
            string k = c.IntervalS == 0 ? "none" : $"kill{c.IntervalS}s";
            r.Add(($"{k}_mbps", Math.Round(c.Mbps, 2)));
            r.Add(($"{k}_seconds", Math.Round(c.Seconds, 2)));
            r.Add(($"{k}_kills", c.Kills));
            r.Add(($"{k}_restarts", c.Restarts));
            r.Add(($"{k}_checksum_ok", c.ChecksumOk ? "true" : "false"));
            if (c.Error.Length > 0) r.Add(($"{k}_error", NetRecoveryBench.JsonString(c.Error)));
        }
        r.Add(("raw_64k_ratio_to_host", Math.Round(rawRatio, 3)));
        r.Add(("goal_raw_ratio", GoalRawRatio));
        r.Add(("goal_raw_ratio_met", rawRatio >= GoalRawRatio ? "true" : "false"));
        r.Add(("ratio_kill1s_none", Math.Round(recoveryRatio, 3)));
        r.Add(("goal_recovery_ratio", GoalRecoveryRatio));
        r.Add(("goal_recovery_ratio_met", recoveryRatio >= GoalRecoveryRatio ? "true" : "false"));
        r.Add(("kernel", $"\"{kernel}\""));
        for (int i = 0; i < charts.Length; i++)
        {
            r.Add(($"chart{i}_png", NetRecoveryBench.JsonString(charts[i].Png)));
            r.Add(($"chart{i}_svg", NetRecoveryBench.JsonString(charts[i].Svg)));
        }
        if (json)
        {
            BenchHost.Print(json: true, r, null, 0);
            return;
        }
        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine($"storage stack, one run, {kernel} kernel; wrote the {sizeMiB} MiB file at {(written.Bytes / written.Seconds / 1e6).ToString("F1", ci)} MB/s");
        Console.WriteLine("reads at unit sizes (Figs. 5.12, 5.13): µs per call and MB/s; host = pread(2) of the image file");
        Console.WriteLine($"{"unit",-8} {"calls",6} {"raw_us",10} {"file_us",10} {"host_us",10} {"raw_MB/s",9} {"file_MB/s",9} {"host_MB/s",9} {"raw/host",8} {"file/host",9}");
        foreach (var u in units)
            Console.WriteLine(string.Create(ci, $"{Human(u.Bytes),-8} {u.Count,6} {u.RawUs,10:F1} {u.FileUs,10:F1} {u.HostUs,10:F1} {u.Mbps(u.RawUs),9:F1} {u.Mbps(u.FileUs),9:F1} {u.Mbps(u.HostUs),9:F1} {u.HostUs / u.RawUs,8:F3} {u.HostUs / u.FileUs,9:F3}"));
        Console.WriteLine(string.Create(ci, $"raw reads at 64 KiB ÷ host      {rawRatio:F3}   goal ≥ {GoalRawRatio}: {(rawRatio >= GoalRawRatio ? "met" : "NOT met")}"));
        Console.WriteLine("file calls (Fig. 5.11): median ns per call, Bulkhead (VFS, MFS, at_wini) vs Linux on tmpfs");
        Console.WriteLine($"{"call",-16} {"bulkhead_ns",12} {"linux_ns",10} {"ratio",8}");
        foreach (var (name, b, l) in calls)
            Console.WriteLine(string.Create(ci, $"{name,-16} {b,12} {l,10} {(l > 0 ? (double)b / l : 0),8:F1}"));
        Console.WriteLine($"dd | sha1 of the {sizeMiB} MiB file, at_wini killed every N s (Fig. 5.17)");
        Console.WriteLine($"{"case",-8} {"MB/s",7} {"seconds",8} {"kills",5} {"restarts",8} {"sha1",5}");
        foreach (var c in recovery)
        {
            string line = string.Create(ci, $"{(c.IntervalS == 0 ? "none" : $"kill{c.IntervalS}s"),-8} {c.Mbps,7:F2} {c.Seconds,8:F1} {c.Kills,5} {c.Restarts,8} {(c.ChecksumOk ? "ok" : "BAD"),5}");
            Console.WriteLine(c.Error.Length > 0 ? $"{line}  ({c.Error})" : line);
        }
        Console.WriteLine(string.Create(ci, $"ratio (1 kill/s ÷ no kills)     {recoveryRatio:F3}   goal ≥ {GoalRecoveryRatio}: {(recoveryRatio >= GoalRecoveryRatio ? "met" : "NOT met")}"));
        foreach (var (png, svg) in charts) Console.WriteLine($"charts: {png} {svg}");
    }
}
