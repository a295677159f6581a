// The filter driver's device (thesis §4.4, Figs. 4.7 and 4.8): one virtual disk, unit 0, whose
// sectors live on a primary device and optionally a mirror, each reached through a BlockClient
// as the file system would reach it, so neither side knows the filter is there.
//   * Reads come from the primary; the data sectors and their group's checksum sector are read
//     together (one request when the checksum sector is near), checked, and copied out. A read
//     that fails — an error answer, a wrong byte count, a sector that fails its checksum — is
//     served from the mirror, whose good copy is then written back over the primary (repair).
//   * Writes go to every device in service: the data sectors and their checksum sectors, in as
//     few requests as the layout allows; a group written only in part has its checksum sector
//     read first and updated. With `verify` every write is read back and compared, which finds
//     writes that were answered OK but did not land (or landed elsewhere).
//   * A failed attempt counts against the device: the filter tries the other device or again;
//     after `retries` failed attempts on one driver instance it complains to RS, which replaces
//     the driver (up to `complaints` times per operation, or over its lifetime), and gives up
//     with EIO when the last instance used up its retries (Budget). A mirrored device that fails
//     `outage` operations in a row is taken out of service and the filter goes on with the other.
// BlockClient adds the protocol checks of its own (an answer to the wrong request, no answer
// within `timeout`: complaint, new instance, the request again) and the driver-restart handling.
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.Filter;

public sealed class FilterDevice(FilterOptions options) : IBlockDevice
{
    private const int Sector = ChecksumLayout.SectorSize;
    /// <summary>Virtual bytes one Transfer moves at most.</summary>
    private const int Chunk = 64 * 1024;
    /// <summary>A read takes the data and its group's checksum sector in one request when no
    /// more than this many unwanted sectors lie between them.</summary>
    private const int GapSectors = 8;

    private sealed class Member(string name, BlockClient client)
    {
        public readonly string Name = name;
        public readonly BlockClient Client = client;
        public bool InService = true;
        /// <summary>Operations in a row that failed on this device (each counted once, however
        /// many of its attempts failed), against `outage`.</summary>
        public int FailedInARow;
        public long LastFailedOperation = -1;
        public int Complaints;
    }

    private readonly ChecksumLayout _layout = new(options.Checksum);
    private readonly List<Member> _members = [];
    // Physical images of one Transfer: the window of data and checksum sectors, a separate
    // checksum sector, and a read-back for verify. Sized for Chunk plus its checksum sectors.
    private readonly byte[] _phys = new byte[Chunk + (Chunk / Sector + 2 + GapSectors) * Sector];
    private readonly byte[] _ck = new byte[Sector];
    private readonly byte[] _back = new byte[Chunk + (Chunk / Sector + 2 + GapSectors) * Sector];
    private BlockDriver? _driver;
    private long _buffer = -1;
    private long _virtualBytes;
    private int _loggedFailures;
    /// <summary>Counts Transfer and Flush calls: the operation a failure belongs to.</summary>
    private long _operation;
    // The status line's counts (Status): operations that ended in EIO, and what the checks found.
    private long _failedOperations, _badChecksums, _readBackFailures, _repairs;
    private string? _lastStatus;

    public bool Partitioned => false;
    public int Units => 1;
    public long Buffer => _buffer;
    public int BufferBytes => Chunk;

    public int Init(BlockDriver driver)
    {
        _driver = driver;
        _buffer = ArenaHeap.Allocate(Chunk);
        if (_buffer < 0) return Err.ENOMEM;
        var clientOptions = new BlockClientOptions
        {
            AnswerTimeoutMs = options.TimeoutMs,
            RecoveryTimeoutMs = Math.Max(options.TimeoutMs * 5, 10_000),
            MaxAttempts = 2,
            StagingBytes = (_phys.Length + BlockClientOptions.MinStagingBytes - 1) / BlockClientOptions.MinStagingBytes * BlockClientOptions.MinStagingBytes,
            Loop = driver.Loop,
        };
        foreach (var (label, minor) in options.Backup is { } b ? [options.Primary, b] : new[] { options.Primary })
        {
            int r = BlockClient.Open(label, minor, writable: true, clientOptions, out var client);
            if (r != Err.Ok)
            {
                SysCall.Diag($"{driver.Label}: cannot open {label} minor {minor}: {Err.Name(r)}");
                return r;
            }
            if (client!.SectorSize != Sector)
            {
                SysCall.Diag($"{driver.Label}: {label} minor {minor} has {client.SectorSize}-byte sectors; the filter needs {Sector}");
                return Err.EINVAL;
            }
            _members.Add(new Member($"{label}:{minor}", client));
        }
        long physical = _members.Min(m => m.Client.Size) / Sector;
        _virtualBytes = _layout.VirtualSectors(physical) * Sector;
        if (_virtualBytes == 0)
        {
            SysCall.Diag($"{driver.Label}: {string.Join(", ", _members.Select(m => $"{m.Name} has {m.Client.Size} bytes"))}: no room for one group of {Math.Max(_layout.N, 1)} sectors");
            return Err.ENOSPC;
        }
        // Devices an earlier instance took out of service in this boot stay out (their copies
        // are stale), as long as one stays in.
        if (DsClient.RetrieveU32(OutOfServiceKey, out uint outMask) == Err.Ok)
            for (int i = 0; i < _members.Count; i++)
                if ((outMask & (1u << i)) != 0 && _members.Count(x => x.InService) > 1)
                {
                    _members[i].InService = false;
                    SysCall.Diag($"{driver.Label}: {_members[i].Name} stays out of service (taken out earlier in this boot)");
                }
        int f = Format(driver.Label);
        if (f != Err.Ok) return f;
        // A backend's answer that arrives after its client gave up is dropped, never dispatched.
        driver.Loop.OnAnswer = m =>
        {
            foreach (var member in _members)
                if (member.Client.TakeLateAnswer(m)) return;
        };
        driver.OnHeartbeat = ReportStatus;
        SysCall.Diag($"{driver.Label}: {string.Join(" mirrored on ", _members.Select(m => m.Name))}, " +
                     (_layout.Enabled ? $"a checksum sector every {_layout.N} sectors" : "no checksums") +
                     (options.Verify ? ", writes verified" : "") + $": {_virtualBytes / 1024} KiB");
        return Err.Ok;
    }

    /// <summary>A new device — its first 128 sectors zeros on every device — is formatted:
    /// every group zeros with its checksum sector sealed, since a blank checksum sector is never
    /// valid (ChecksumLayout). Never twice in one boot: once formatted, DS says so
    /// (`filter.LABEL.formatted`; `format=EPOCH` allows one more per epoch), and a restarted
    /// filter that then finds the devices blank treats them as failing, not as new (a driver
    /// answering with zeros would otherwise have the filter wipe the disk). A device whose group
    /// 0 is neither blank nor sealed holds something else (another file system, another N): the
    /// filter says so and does not format it.</summary>
    private int Format(string label)
    {
        if (!_layout.Enabled) return Err.Ok;
        // The first 128 sectors hold group 0 of every layout: a device is new only when all of
        // them are zeros (a zero data sector where this layout looks for its checksum sector
        // may be another layout's).
        long smallest = _members.Min(m => m.Client.Size) / Sector;
        var head = _back.AsSpan(0, (int)Math.Min(ChecksumLayout.MaxGroup + 1, smallest) * Sector);
        List<Member> readable = [], foreign = [];
        foreach (var m in Serving())
        {
            if (ReadExactly(m, 0, head) is { } why)
            {
                // A device that fails now is served like any failing device once requests come.
                SysCall.Diag($"{label}: {m.Name} at start-up: {why}");
                continue;
            }
            if (ChecksumLayout.SealIntact(head.Slice(_layout.N * Sector, Sector), _layout.N)) return Err.Ok;
            readable.Add(m);
            if (head.ContainsAnyExcept((byte)0)) foreign.Add(m);
        }
        if (readable.Count == 0)
        {
            SysCall.Diag($"{label}: no device answered at start-up: not formatting; requests will tell");
            return Err.Ok;
        }
        if (foreign.Count > 0)
        {
            // Neither a filter layout nor a new device: formatting would destroy what is there.
            // The filter serves it anyway (a driver that damaged this one read must not keep the
            // filter from starting); requests on groups that are not its layout will fail.
            SysCall.Diag($"{label}: {string.Join(", ", foreign.Select(m => m.Name))} holds something other than this filter's layout " +
                         $"(its first sectors are not zeros and sector {_layout.N} is not a sealed checksum sector: another checksum=N, another file system, or a bad read): " +
                         "not formatting; zero the device to have the filter format it");
            return Err.Ok;
        }
        // DS keeps 1 + the epoch of the last format in this boot (absent: none yet).
        string key = $"filter.{label}.formatted";
        if (DsClient.RetrieveU32(key, out uint done) == Err.Ok && done > (uint)options.FormatEpoch)
        {
            SysCall.Diag($"{label}: the devices read as zeros although they were formatted in this boot: not formatting again (format=EPOCH allows it)");
            return Err.Ok;
        }
        long groups = _virtualBytes / Sector / _layout.N;
        int groupBytes = (_layout.N + 1) * Sector;
        int perWrite = Math.Max(1, _phys.Length / groupBytes);
        var run = _phys.AsSpan(0, perWrite * groupBytes);
        foreach (var m in readable)
        {
            for (long g = 0; g < groups; g += perWrite)
            {
                int k = (int)Math.Min(perWrite, groups - g);
                for (int i = 0; i < k; i++) _layout.FormatGroup(g + i, run.Slice(i * groupBytes, groupBytes));
                if (WriteExactly(m, g * (_layout.N + 1), run[..(k * groupBytes)]) is { } why)
                {
                    SysCall.Diag($"{label}: formatting {m.Name}: {why}");
                    return Err.EIO;
                }
            }
        }
        DsClient.PublishU32(key, (uint)options.FormatEpoch + 1, DsFlags.Overwrite);
        SysCall.Diag($"{label}: formatted {string.Join(" and ", readable.Select(m => m.Name))}: {groups} groups of {_layout.N} sectors");
        return Err.Ok;
    }

    public int Describe(int unit, out long bytes, out int sectorSize)
    {
        bytes = _virtualBytes;
        sectorSize = Sector;
        return unit == 0 ? Err.Ok : Err.ENXIO;
    }

    public long Direct(int unit, long position, int bytes) => -1;

    public int Ioctl(int unit, int code, long argument) => Err.ENOTTY;

    public int Opened(int unit) => 0;

    public void OnInterrupt(ulong hooks) { }

    public int Flush(int unit)
    {
        _operation++;
        int ok = 0;
        foreach (var m in Serving())
        {
            int r = m.Client.Flush();
            if (r == Err.Ok) ok++;
            else Failed(m, $"flush failed: {Err.Name(r)}", complain: false);
        }
        if (ok > 0) return Err.Ok;
        _failedOperations++;
        return Err.EIO;
    }

    public int Transfer(int unit, bool write, long position, int bytes)
    {
        if (unit != 0) return Err.ENXIO;
        _operation++;
        var data = Channel.Current.Arena.Slice((int)_buffer, bytes);
        long v0 = position / Sector;
        int count = bytes / Sector;
        int r = write ? WriteVirtual(v0, count, data) : ReadVirtual(v0, count, data);
        return r == Err.Ok ? bytes : r;
    }

    private IEnumerable<Member> Serving() => _members.Where(m => m.InService);

    /// <summary>DS key of the devices out of service (bit i: member i), kept for a restarted filter.</summary>
    private string OutOfServiceKey => $"filter.{_driver!.Label}.out";

    // ---- reads ----------------------------------------------------------------------------

    private int ReadVirtual(long v0, int count, Span<byte> data)
    {
        var budget = new Budget(this);
        var failedNow = new List<Member>();
        while (true)
        {
            failedNow.Clear();
            bool tried = false;
            foreach (var m in Serving().ToList())
            {
                if (budget.Exhausted(m)) continue;
                tried = true;
                string? why = ReadFrom(m, v0, count, data);
                if (why is null)
                {
                    Succeeded(m);
                    foreach (var bad in failedNow) Repair(bad, m, v0, count);
                    return Err.Ok;
                }
                failedNow.Add(m);
                budget.Failed(m, why);
            }
            if (!tried) return GiveUp(write: false, v0, count, budget);
        }
    }

    /// <summary>The physical sectors a read of [v0, +count) takes: [Start, End), and the last
    /// group's checksum sector on its own when it lies too far behind (else -1).</summary>
    private (long Start, long End, long Separate) ReadWindow(long v0, int count)
    {
        if (!_layout.Enabled) return (v0, v0 + count, -1);
        long last = v0 + count - 1;
        long start = _layout.DataSector(v0), lastData = _layout.DataSector(last), lastCk = _layout.ChecksumSector(last);
        return lastCk - lastData <= GapSectors ? (start, lastCk + 1, -1) : (start, lastData + 1, lastCk);
    }

    /// <summary>Reads and checks [v0, +count) from <paramref name="m"/> into <paramref name="data"/>
    /// (and leaves the physical window in _phys and _ck): null, or what was wrong.</summary>
    private string? ReadFrom(Member m, long v0, int count, Span<byte> data)
    {
        var (start, end, separate) = ReadWindow(v0, count);
        var phys = _phys.AsSpan(0, (int)(end - start) * Sector);
        if (ReadExactly(m, start, phys) is { } why) return why;
        if (separate >= 0 && ReadExactly(m, separate, _ck) is { } why2) return why2;
        if (!_layout.Enabled)
        {
            phys.CopyTo(data);
            return null;
        }
        long group = -1;
        ReadOnlySpan<byte> ck = default;
        for (int i = 0; i < count; i++)
        {
            long v = v0 + i, p = _layout.DataSector(v), c = _layout.ChecksumSector(v);
            if (c != group)
            {
                ck = c < end ? phys.Slice((int)(c - start) * Sector, Sector) : _ck;
                if (!ChecksumLayout.SealIntact(ck, c)) return BadChecksum(ck, c);
                group = c;
            }
            var sector = phys.Slice((int)(p - start) * Sector, Sector);
            if (!ChecksumLayout.Verify(ck, (int)(v % _layout.N), sector, p))
            {
                _badChecksums++;
                return $"sector {p} fails its checksum";
            }
            sector.CopyTo(data.Slice(i * Sector, Sector));
        }
        return null;
    }

    /// <summary>Reads exactly <paramref name="into"/>.Length bytes at physical sector <paramref name="sector"/>: null or what went wrong.</summary>
    private static string? ReadExactly(Member m, long sector, Span<byte> into)
    {
        int n = m.Client.Read(sector * Sector, into);
        if (n < 0) return $"read of sector {sector} failed: {Err.Name(n)}";
        return n == into.Length ? null : $"read of {into.Length} bytes at sector {sector} moved {n}";
    }

    /// <summary>Writes the good copy just read (the window in _phys and _ck) over <paramref name="bad"/>'s.</summary>
    private void Repair(Member bad, Member good, long v0, int count)
    {
        var (start, end, separate) = ReadWindow(v0, count);
        string? why = WriteExactly(bad, start, _phys.AsSpan(0, (int)(end - start) * Sector));
        if (why is null && separate >= 0) why = WriteExactly(bad, separate, _ck);
        if (why is null)
        {
            // A device that takes the repair works: what it returned was damaged data, not a
            // failing device, so it stays in service.
            Succeeded(bad);
            _repairs++;
            Log($"{bad.Name}: sectors {start}..{end - 1} repaired from {good.Name}");
        }
        else Failed(bad, $"repair: {why}", complain: false);
    }

    // ---- writes ---------------------------------------------------------------------------

    private int WriteVirtual(long v0, int count, ReadOnlySpan<byte> data)
    {
        // The physical image: data sectors, and the checksum sectors of their groups; a group
        // written only in part keeps the other slots of its checksum sector (read first).
        long last = v0 + count - 1;
        long start = _layout.DataSector(v0), end = _layout.DataSector(last) + 1, separate = -1;
        if (_layout.Enabled)
        {
            long lastCk = _layout.ChecksumSector(last);
            if (lastCk == end) end++;
            else separate = lastCk;
        }
        var phys = _phys.AsSpan(0, (int)(end - start) * Sector);
        if (_layout.Enabled)
        {
            int r = BuildChecksums(v0, count, data, start, end, separate, phys);
            if (r != Err.Ok) return GiveUp(write: true, v0, count, null);
        }
        else data.CopyTo(phys);

        var budget = new Budget(this);
        int landed = 0;
        foreach (var m in Serving().ToList())
        {
            while (m.InService && !budget.Exhausted(m))
            {
                string? why = WriteExactly(m, start, phys);
                if (why is null && separate >= 0) why = WriteExactly(m, separate, _ck);
                if (why is null && options.Verify) why = ReadBack(m, start, phys, separate);
                if (why is null)
                {
                    Succeeded(m);
                    landed++;
                    break;
                }
                budget.Failed(m, why);
            }
        }
        return landed > 0 ? Err.Ok : GiveUp(write: true, v0, count, budget);
    }

    /// <summary>Fills the data sectors and checksum sectors of the write image.</summary>
    private int BuildChecksums(long v0, int count, ReadOnlySpan<byte> data, long start, long end, long separate, Span<byte> phys)
    {
        int n = _layout.N;
        long last = v0 + count - 1;
        for (long g = v0 / n; g <= last / n; g++)
        {
            long c = g * (n + 1) + n;
            var ck = c < end ? phys.Slice((int)(c - start) * Sector, Sector) : _ck.AsSpan();
            long first = Math.Max(v0, g * n), stop = Math.Min(last, g * n + n - 1);
            bool whole = first == g * n && stop == g * n + n - 1;
            if (whole) ck.Clear();
            else
            {
                int r = ReadChecksumSector(c, ck);
                if (r != Err.Ok) return r;
            }
            for (long v = first; v <= stop; v++)
            {
                long p = _layout.DataSector(v);
                var src = data.Slice((int)(v - v0) * Sector, Sector);
                src.CopyTo(phys.Slice((int)(p - start) * Sector, Sector));
                ChecksumLayout.SetSlot(ck, (int)(v % n), ChecksumLayout.Sum(src, p));
            }
            ChecksumLayout.Seal(ck, c);
        }
        return Err.Ok;
    }

    /// <summary>A checksum sector as it is on the devices (the first in service whose copy is intact).</summary>
    private int ReadChecksumSector(long c, Span<byte> into)
    {
        var budget = new Budget(this);
        while (true)
        {
            bool tried = false;
            foreach (var m in Serving().ToList())
            {
                if (budget.Exhausted(m)) continue;
                tried = true;
                string? why = ReadExactly(m, c, into);
                if (why is null && !ChecksumLayout.SealIntact(into, c)) why = BadChecksum(into, c);
                if (why is null)
                {
                    Succeeded(m);
                    return Err.Ok;
                }
                budget.Failed(m, why);
            }
            if (!tried) return Err.EIO;
        }
    }

    private static string? WriteExactly(Member m, long sector, ReadOnlySpan<byte> data)
    {
        int n = m.Client.Write(sector * Sector, data);
        if (n < 0) return $"write of sector {sector} failed: {Err.Name(n)}";
        return n == data.Length ? null : $"write of {data.Length} bytes at sector {sector} moved {n}";
    }

    /// <summary>Reads back what was just written to <paramref name="m"/>: null when it is all there.</summary>
    private string? ReadBack(Member m, long start, ReadOnlySpan<byte> phys, long separate)
    {
        var back = _back.AsSpan(0, phys.Length);
        if (ReadExactly(m, start, back) is { } why) return $"read-back: {why}";
        if (!back.SequenceEqual(phys))
        {
            _readBackFailures++;
            return $"sectors {start}..{start + phys.Length / Sector - 1} read back differ from what was written";
        }
        if (separate < 0) return null;
        Span<byte> ck = stackalloc byte[Sector];
        if (ReadExactly(m, separate, ck) is { } why2) return $"read-back: {why2}";
        if (ck.SequenceEqual(_ck)) return null;
        _readBackFailures++;
        return $"checksum sector {separate} read back differs from what was written";
    }

    // ---- failures -------------------------------------------------------------------------

    /// <summary>One operation's recovery budget (thesis §4.4): up to `retries` failed attempts
    /// on each driver instance of a device; when an instance has used them up, a complaint to
    /// RS replaces it, up to `complaints` times per operation (or over the filter's lifetime);
    /// the device is exhausted for the operation when its last instance used up its retries —
    /// at most retries × (complaints + 1) attempts.</summary>
    private sealed class Budget(FilterDevice filter)
    {
        private readonly int[] _failed = new int[filter._members.Count];
        private readonly int[] _complaints = new int[filter._members.Count];

        public int Attempts { get; private set; }

        /// <summary>The current instance used up its retries and no complaint could replace it.</summary>
        public bool Exhausted(Member m) => _failed[filter._members.IndexOf(m)] >= filter.Retries;

        /// <summary>A failed attempt on <paramref name="m"/>: counted, logged, and a complaint
        /// when the instance used up its retries and complaints are left.</summary>
        public void Failed(Member m, string why)
        {
            int i = filter._members.IndexOf(m);
            Attempts++;
            _failed[i]++;
            bool complain = _failed[i] >= filter.Retries && filter.MayComplain(m, _complaints[i]);
            filter.Failed(m, why, complain);
            if (!complain) return;
            _complaints[i]++;
            m.Complaints++;
            _failed[i] = 0; // a new instance comes: its own retries
        }
    }

    private int Retries => options.Retries;

    private bool MayComplain(Member m, int complaintsThisOperation) =>
        (options.ComplaintsPerLifetime ? m.Complaints : complaintsThisOperation) < options.Complaints;

    private void Failed(Member m, string why, bool complain)
    {
        if (m.LastFailedOperation != _operation)
        {
            m.LastFailedOperation = _operation;
            m.FailedInARow++;
        }
        string complaint = "";
        if (complain)
        {
            int r = m.Client.Complain(why);
            complaint = r == Err.Ok ? "; complained to RS" : $"; complaint refused: {Err.Name(r)}";
        }
        Log($"{m.Name}: {why}{complaint}");
        if (m.FailedInARow >= options.Outage && _members.Count(x => x.InService) > 1)
        {
            m.InService = false;
            SysCall.Diag($"{_driver!.Label}: {m.Name} taken out of service after {m.FailedInARow} failed operations in a row; going on with {string.Join(", ", Serving().Select(x => x.Name))}");
            // A restarted filter must not take it back: its copy is stale from now on.
            uint outMask = 0;
            for (int i = 0; i < _members.Count; i++) if (!_members[i].InService) outMask |= 1u << i;
            int r = DsClient.PublishU32(OutOfServiceKey, outMask, DsFlags.Overwrite);
            if (r != Err.Ok) SysCall.Diag($"{_driver.Label}: cannot keep {OutOfServiceKey} in DS: {Err.Name(r)}");
        }
    }

    private static void Succeeded(Member m) => m.FailedInARow = 0;

    private int GiveUp(bool write, long v0, int count, Budget? budget)
    {
        string tries = budget is null ? "its checksum sectors could not be read" : $"{budget.Attempts} attempts failed";
        SysCall.Diag($"{_driver!.Label}: {(write ? "write" : "read")} of virtual sectors {v0}..{v0 + count - 1}: {tries}: EIO");
        _failedOperations++;
        return Err.EIO;
    }

    /// <summary>Why checksum sector <paramref name="c"/> failed its seal (counted).</summary>
    private string BadChecksum(ReadOnlySpan<byte> ck, long c)
    {
        _badChecksums++;
        return ChecksumLayout.Blank(ck) ? $"checksum sector {c} reads as zeros" : $"checksum sector {c} is damaged";
    }

    /// <summary>The filter's counts in one line (docs/filter.md, "Status"): its operations and
    /// those that ended in EIO; per device, what its driver did wrong as its BlockClient saw it
    /// (thesis Fig. 5.9's "filter-driver output") and what the filter's own checks found.</summary>
    public string Status()
    {
        var sb = new System.Text.StringBuilder($"status operations={_operation} failed={_failedOperations}");
        foreach (var m in _members)
        {
            var c = m.Client;
            sb.Append($" | {m.Name}{(m.InService ? "" : " (out of service)")} sent={c.Sent} dead-when-sending={c.DeadWhenSending} " +
                      $"receive-timeouts={c.Timeouts} unexpected-replies={c.UnexpectedAnswers} requests-failed={c.ErrorAnswers} " +
                      $"restarts={c.DriverRestarts} complaints={c.Complaints}");
        }
        sb.Append($" | bad-checksums={_badChecksums} read-after-write-failed={_readBackFailures} repaired={_repairs}");
        return sb.ToString();
    }

    /// <summary>At a heartbeat, the status line goes to the log when it changed since the last.</summary>
    private void ReportStatus()
    {
        string status = Status();
        if (status == _lastStatus) return;
        _lastStatus = status;
        SysCall.Diag($"{_driver!.Label}: {status}");
    }

    /// <summary>The first 50 failures and repairs are logged, then every 1000th.</summary>
    private void Log(string what)
    {
        _loggedFailures++;
        if (_loggedFailures <= 50 || _loggedFailures % 1000 == 0) SysCall.Diag($"{_driver!.Label}: {what}");
    }
}
