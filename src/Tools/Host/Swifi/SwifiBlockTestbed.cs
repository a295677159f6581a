// The block-driver testbed of `swifi run --driver at_wini` (thesis §5.1.3, Fig. 5.9; docs/swifi.md):
// as in the thesis, two disks, each with its own at_wini, and the faults go into the driver of
// the second (c1d0, the secondary channel's disk1) while the root file system stays on the first
// (c0d0). The filter driver sits between c1d0 and a file system on it (MFS, mounted on /mnt):
// checksums and no mirror, N = 3 retries and M = 3 complaints per request, as the thesis ran it.
// The network services are left out of this instance; RS has no failure limit and restarts the
// target without backoff, with a heartbeat period of 1 s (the filter's too: its status line,
// docs/filter.md, comes at each heartbeat).
// The workload (the thesis's: 5 MB of random data written with dd and read back, SHA-1s
// compared): per trial a new 5 MiB of seeded bytes written to /mnt/swifi.bin with dd and synced,
// the file system unmounted and mounted again (so that nothing is read from MFS's cache), and
// the file's SHA-1 taken by sha1sum on Bulkhead and compared with the host's.
// Counters (Fig. 5.9): the filter's last status line, and at_wini's own messages on c1d0 by kind.
// At the end the file system is unmounted and checked by Linux's fsck.minix -f, on the virtual
// disk taken out of disk1.img by the filter's layout (ChecksumLayout): what the faulty driver
// wrote must have left it consistent.
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Bulkhead.Host.Bench;

namespace Bulkhead.Host.Swifi;

internal sealed partial class SwifiBlockTestbed : ISwifiTestbed
{
    private const string Target = "c1d0", Filter = "filter", Mnt = "/mnt", File = "/mnt/swifi.bin";
    /// <summary>The filter's checksum=N.</summary>
    private const int ChecksumN = 64;
    private const long FileBytes = 5L << 20;
    /// <summary>A program of the workload may take this long: the filter's recovery of one
    /// request takes up to N × (M + 1) answer deadlines of 2 s.</summary>
    private const int ProgramTimeoutS = 120;
    /// <summary>The second disk (docs/boot.md, "A second disk").</summary>
    private static readonly string[] Disk1 =
    [
        "device disk1 {", "    model ata;", "    channel secondary;", "    pci 00:05.0;", "    io c110;", "    irq 15;",
        "    image disk1.img;", "    size 64M;", "};",
    ];
    private static readonly string[] NetworkImages = ["dp8390", "rtl8139", "inet", "daytimed"];

    private readonly BenchInstance _sys;
    private readonly int _seed;
    private readonly string _data;
    private bool _mounted;
    private string? _filterStatus;
    private readonly Dictionary<string, long> _driverOutput = new(StringComparer.Ordinal);

    public SwifiBlockTestbed(string root, string image, int seed)
    {
        _seed = seed;
        _sys = new BenchInstance(root, image, "swifi-block", lines => [.. lines, .. Disk1], EditRc);
        try
        {
            _data = Path.Combine(_sys.Dir, "swifi.bin");
            _sys.WaitUntil(() => _sys.LogLines(l => l.Contains("vfs: mounted mfs_root", StringComparison.Ordinal)) > 0, 120, "VFS to mount the root file system");
            _sys.WaitRunning(Filter, null);
            Require(Program(["mkfs", "/dev/filter"]), "mkfs /dev/filter");
            Require(Program(["mkdir", Mnt]), $"mkdir {Mnt}");
            _sys.WaitUntil(() => Workload(0) is null, 120, "the workload to work before any fault");
        }
        catch
        {
            _sys.Dispose();
            throw;
        }
    }

    /// <summary>etc/rc for the campaign: no network services; c1d0 on the second disk before the
    /// filter, and the filter on c1d0 instead of the RAM disks.</summary>
    private static string EditRc(string line)
    {
        if (NetworkImages.Any(i => line.StartsWith($"service up image:{i} ", StringComparison.Ordinal))) return "# " + line;
        if (!line.StartsWith("service up image:filter ", StringComparison.Ordinal)) return line;
        return $"service up image:at_wini -label {Target} -policy at_wini1 -mirror true -period 1 -nobackoff -args \"channel=secondary\"\n" +
               $"service up image:filter -label {Filter} -policy filter -period 1 -args \"primary={Target}:0 checksum={ChecksumN} retries=3 complaints=3\"";
    }

    private void Require((int Status, string Text) r, string what)
    {
        if (r.Status == 0) return;
        // The instance's directory goes with it: its system log is kept for the post-mortem.
        string kept = Path.Combine(Path.GetTempPath(), $"bulkhead-swifi-block-{Environment.ProcessId}.log");
        try { System.IO.File.Copy(_sys.SystemLog, kept, overwrite: true); }
        catch (IOException) { kept = "(not kept)"; }
        throw new InvalidOperationException($"swifi: {what} failed ({r.Status}): {r.Text}; the system log is kept in {kept}\n{_sys.Diagnostics()}");
    }

    public string Label => Target;
    public string Driver => "at_wini";
    public string Socket => _sys.Socket;
    public string SystemLog => _sys.SystemLog;
    /// <summary>Two heartbeat periods for RS; the filter's complaint comes within its retries' deadlines (3 × 2 s).</summary>
    public int CatchS => 8;

    public Dictionary<string, (int? Pid, int Restarts)> Services() => _sys.Services();
    public int WaitDriver(int? old) => _sys.WaitRunning(Target, old).Pid;
    public void WaitUntil(Func<bool> done, int seconds, string what) => _sys.WaitUntil(done, seconds, what);

    private (int Status, string Text) Program(string[] args, string? stdin = null) => SwifiPrograms.Run(_sys.Run, args, ProgramTimeoutS, stdin);

    public string? Workload(int trial)
    {
        if (!_mounted)
        {
            var (m, mText) = Program(["mount", "/dev/filter", Mnt]);
            if (m != 0) return $"mount: {mText}";
            _mounted = true;
        }
        string sha1 = BenchInstance.WriteSeededFile(_data, FileBytes, HashAlgorithmName.SHA1, unchecked(_seed * 7919 + trial));
        var (w, wText) = Program(["dd", $"of={File}", "bs=64K"], _data);
        if (w != 0) return $"dd write: {wText}";
        var (s, sText) = Program(["sync"]);
        if (s != 0) return $"sync: {sText}";
        // Unmounted and mounted again: the read back comes from the disk, not MFS's cache.
        var (u, uText) = Program(["umount", Mnt]);
        if (u != 0) return $"umount: {uText}";
        _mounted = false;
        var (m2, m2Text) = Program(["mount", "/dev/filter", Mnt]);
        if (m2 != 0) return $"mount: {m2Text}";
        _mounted = true;
        var (r, rText) = Program(["sha1sum", File]);
        if (r != 0) return $"sha1sum: {rText}";
        return rText.StartsWith(sha1 + " ", StringComparison.Ordinal) ? null : $"read back wrong: {rText} (wrote {sha1})";
    }

    /// <summary>The whole workload: data through the new instance, read back from the disk.</summary>
    public string? Probe(int trial) => Workload(trial);

    public void Observe(IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            int at = line.IndexOf($"{Filter}: {Filter}: status ", StringComparison.Ordinal);
            if (at >= 0)
            {
                _filterStatus = line[(at + Filter.Length + 2)..];
                continue;
            }
            at = line.IndexOf($"{Target}: at_wini: ", StringComparison.Ordinal);
            if (at >= 0 && DriverOutputKind(line[(at + Target.Length + 11)..]) is { } kind)
                _driverOutput[kind] = _driverOutput.GetValueOrDefault(kind) + 1;
        }
    }

    /// <summary>The kind of one of at_wini's messages (null: its start-up line, which is no trouble).</summary>
    private static string? DriverOutputKind(string message)
    {
        var m = FailedCommand().Match(message);
        if (m.Success) return $"at_wini {m.Groups["what"].Value} failed: {m.Groups["why"].Value}";
        if (message.StartsWith("DMA ", StringComparison.Ordinal)) return "at_wini DMA failed, PIO from then on";
        if (message.StartsWith("FLUSH CACHE failed", StringComparison.Ordinal)) return "at_wini flush failed";
        if (message.StartsWith("lost the disk controller", StringComparison.Ordinal)) return "at_wini lost the controller";
        if (message.Contains(" sectors (", StringComparison.Ordinal) && message.Contains(" MiB)", StringComparison.Ordinal)) return null;
        if (message.StartsWith("no DMA", StringComparison.Ordinal)) return "at_wini no DMA at start-up";
        return "at_wini other";
    }

    /// <summary>The filter's status (docs/filter.md, "Status") as counters "filter KEY" (the
    /// device's keys summed over devices), and at_wini's messages by kind.</summary>
    public Dictionary<string, long> Counters()
    {
        var all = new Dictionary<string, long>(_driverOutput, StringComparer.Ordinal);
        if (_filterStatus is not null)
            foreach (Match m in StatusCount().Matches(_filterStatus))
            {
                string key = "filter " + m.Groups["key"].Value;
                all[key] = all.GetValueOrDefault(key) + long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
            }
        if (Fsck() is { } fsck) (all["fsck.minix exit"], all["fsck.minix findings"]) = fsck;
        return all;
    }

    /// <summary>Unmounts the file system and runs `fsck.minix -f` on the virtual disk in
    /// disk1.img: its exit code and the lines it printed besides its banner; null when
    /// fsck.minix is not installed or the file system could not be unmounted.</summary>
    private (long Exit, long Findings)? Fsck()
    {
        string? tool = new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, "fsck.minix")).FirstOrDefault(System.IO.File.Exists);
        if (tool is null) return null;
        if (_mounted && Program(["umount", Mnt]).Status != 0) return null;
        _mounted = false;
        var layout = new Bulkhead.Drivers.Block.Filter.ChecksumLayout(ChecksumN);
        const int Sector = Bulkhead.Drivers.Block.Filter.ChecksumLayout.SectorSize;
        string disk = Path.Combine(_sys.RunDir, "disk1.img"), image = Path.Combine(_sys.Dir, "filtered.img");
        using (var from = System.IO.File.OpenHandle(disk))
        using (var to = System.IO.File.OpenHandle(image, FileMode.Create, FileAccess.Write))
        {
            var group = new byte[layout.N * Sector];
            long groups = layout.VirtualSectors(RandomAccess.GetLength(from) / Sector) / layout.N;
            for (long g = 0; g < groups; g++)
            {
                int n = RandomAccess.Read(from, group, layout.DataSector(g * layout.N) * Sector);
                if (n != group.Length) return null;
                RandomAccess.Write(to, group, g * group.Length);
            }
        }
        var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add(image);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd() + err.Result;
        p.WaitForExit();
        long findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => !l.StartsWith("Forcing filesystem check", StringComparison.Ordinal));
        if (p.ExitCode != 0 || findings > 0) Console.Error.WriteLine($"swifi: fsck.minix -f of the filtered file system: exit {p.ExitCode}\n{output}");
        return (p.ExitCode, findings);
    }

    public void Dispose() => _sys.Dispose();

    [GeneratedRegex(@"^(?<what>read|write) of \d+ sectors at \d+ failed \((?<why>[A-Z0-9]+)\)")]
    private static partial Regex FailedCommand();

    [GeneratedRegex(@"(?<key>[a-z-]+)=(?<n>\d+)")]
    private static partial Regex StatusCount();
}
