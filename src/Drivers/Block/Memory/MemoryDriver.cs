// memory: the memory driver (MINIX's drivers/storage/memory) on the block-driver library.
// Minors, with MINIX's numbers: 3 /dev/null (reads end at once, writes succeed and vanish),
// 5 /dev/zero (reads give zeros, writes vanish), 7..14 the RAM disks ram0..ram7, created by
// IoctlRamSize with their size (a multiple of 512 bytes, at most MaxRamDisk) in the driver's own
// arena. Other minors (0, 1, 2, 4, 6 and beyond 14) are ENXIO. Arguments `ramN=SIZE` (bytes, or
// with K or M) create RAM disk N at start as IoctlRamSize would (etc/rc: a ram0 for mkfs and
// mount, since programs have no ioctl); a restarted instance finds the same disks in DS.
// `fault=KIND[,every=N][,minor=M]` has the driver misbehave on purpose, for tests and
// demonstrations (BlockFaults: noop, misdirect, flip, fail, hang). A bad argument is said on
// the console and the driver exits with status 2.
// Recovery (thesis §4.2.3): each RAM disk's size and identity (a number that names this disk
// through its driver's restarts) are kept in DS (DsBackup "memory.ramdisks", rewritten after
// every change and at every heartbeat). The contents cannot survive: a restarted driver is a
// new process with a new arena, and Bulkhead has no memory that outlives a process and that the
// next instance could map again (DS takes at most DsLimits.MaxMemLength per entry). So a new
// instance re-creates every RAM disk with its size and identity, empty; the old clients' next
// request is EBADF (no opens in the new instance), and the first Open of such a disk answers
// FlagContentsLost, so a client knows what it finds is not what it wrote.
// Rules: the RAM disks are bounded (RamDisks, MaxRamDisk, and the arena's free memory: ENOMEM);
// a RAM disk's size never changes once created (another size is EBUSY); what DS gives back is
// parsed and checked like any input.
using System.Globalization;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.Memory;

public static class MemoryDriver
{
    public static int Run(string[] args)
    {
        var disks = new List<(int Disk, long Size)>();
        BlockFaults? faults = null;
        foreach (var a in args.Skip(1))
        {
            if (BlockFaults.IsArgument(a))
            {
                string why = $"bad argument '{a}': a second fault= argument";
                if (faults is not null || !BlockFaults.TryParse(a, out faults, out why))
                {
                    SysCall.Diag($"memory: {why}");
                    return 2;
                }
                continue;
            }
            if (!TryParseRamDisk(a, out int d, out long size))
            {
                SysCall.Diag($"memory: unexpected argument '{a}' (ramN=SIZE, N 0..{MemoryDevice.RamDisks - 1}, SIZE bytes or with K or M; fault=KIND[,every=N][,minor=M])");
                return 2;
            }
            disks.Add((d, size));
        }
        var device = new MemoryDevice(disks);
        var driver = new BlockDriver(device) { OnHeartbeat = device.Save, Faults = faults };
        ServiceRuntime.OnSaveState = device.Save;
        return driver.Run(Channel.Current.Name);
    }

    /// <summary>"ram0=8M": RAM disk 0 of 8 MiB.</summary>
    private static bool TryParseRamDisk(string arg, out int disk, out long size)
    {
        (disk, size) = (-1, 0);
        int eq = arg.IndexOf('=');
        if (eq < 4 || !arg.StartsWith("ram", StringComparison.Ordinal) ||
            !int.TryParse(arg.AsSpan(3, eq - 3), NumberStyles.None, CultureInfo.InvariantCulture, out disk) || disk >= MemoryDevice.RamDisks) return false;
        var text = arg.AsSpan(eq + 1);
        long unit = text.EndsWith("K") ? 1024 : text.EndsWith("M") ? 1024 * 1024 : 1;
        if (unit != 1) text = text[..^1];
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out size) && size <= MemoryDevice.MaxRamDisk / unit && (size *= unit) > 0;
    }
}

internal sealed class MemoryDevice : IBlockDevice
{
    public const int NullMinor = 3, ZeroMinor = 5, FirstRamMinor = 7, RamDisks = 8;
    public const long MaxRamDisk = 1L << 30;
    private const int Sector = 512, StagingBytes = 64 * 1024;

    private readonly long[] _ram = new long[RamDisks];     // arena offset, -1 when none
    private readonly long[] _size = new long[RamDisks];
    private readonly long[] _identity = new long[RamDisks];
    private readonly bool[] _lost = new bool[RamDisks];
    private readonly DsBackup _backup = new("memory.ramdisks");
    private long _nextIdentity = 1;
    private long _failingSince = -1;        // ms (Environment.TickCount64) of the first failed save in a row
    private const long SaveOutageToSay = 10_000;

    private readonly IReadOnlyList<(int Disk, long Size)> _atStart;

    /// <summary>A device that creates the RAM disks <paramref name="atStart"/> when it starts.</summary>
    public MemoryDevice(IReadOnlyList<(int Disk, long Size)> atStart)
    {
        Array.Fill(_ram, -1);
        _atStart = atStart;
    }

    public bool Partitioned => false;
    public int Units => FirstRamMinor + RamDisks;
    public long Buffer { get; private set; } = -1;
    public int BufferBytes => StagingBytes;

    public int Init(BlockDriver driver)
    {
        Buffer = ArenaHeap.Allocate(StagingBytes);
        if (Buffer < 0) return Err.ENOMEM;
        Restore();
        foreach (var (d, size) in _atStart)
        {
            int r = Ioctl(FirstRamMinor + d, BlockDriverCall.IoctlRamSize, size);
            if (r != Err.Ok) SysCall.Diag($"memory: ram{d} of {size} bytes: {Err.Name(r)}");
        }
        return Err.Ok;
    }

    public int Describe(int unit, out long bytes, out int sectorSize)
    {
        (bytes, sectorSize) = (0, 0);
        if (unit is NullMinor or ZeroMinor) (bytes, sectorSize) = (long.MaxValue, 1);
        else if (Ram(unit) is int d) (bytes, sectorSize) = (_size[d], Sector);
        else return Err.ENXIO;
        return Err.Ok;
    }

    private static int? Ram(int unit) => unit is >= FirstRamMinor and < FirstRamMinor + RamDisks ? unit - FirstRamMinor : null;

    public int Transfer(int unit, bool write, long position, int bytes)
    {
        if (unit == NullMinor) return write ? bytes : 0;
        if (unit == ZeroMinor)
        {
            if (!write) Channel.Current.Arena.Slice((int)Buffer, bytes).Clear();
            return bytes;
        }
        long at = Direct(unit, position, bytes);
        if (at < 0) return Err.EIO;
        var ram = Channel.Current.Arena.Slice((int)at, bytes);
        var staging = Channel.Current.Arena.Slice((int)Buffer, bytes);
        if (write) staging.CopyTo(ram);
        else ram.CopyTo(staging);
        return bytes;
    }

    public long Direct(int unit, long position, int bytes) =>
        Ram(unit) is int d && _ram[d] >= 0 && position >= 0 && position + bytes <= _size[d] ? _ram[d] + position : -1;

    public int Flush(int unit) => Err.Ok;

    public int Ioctl(int unit, int code, long argument)
    {
        if (code != BlockDriverCall.IoctlRamSize) return Err.ENOTTY;
        if (Ram(unit) is not int d) return Err.ENOTTY;
        if (argument <= 0 || argument % Sector != 0 || argument > MaxRamDisk) return Err.EINVAL;
        if (_ram[d] >= 0) return _size[d] == argument ? Err.Ok : Err.EBUSY;
        int r = Create(d, argument, _nextIdentity);
        if (r != Err.Ok) return r;
        _nextIdentity++;
        Save();
        SysCall.Diag($"memory: ram{d} (minor {unit}) created, {argument} bytes, identity {_identity[d]}");
        return Err.Ok;
    }

    public int Opened(int unit)
    {
        if (Ram(unit) is not int d || !_lost[d]) return 0;
        _lost[d] = false;
        return BlockDriverCall.FlagContentsLost;
    }

    public void OnInterrupt(ulong hooks)
    {
    }

    private int Create(int d, long size, long identity)
    {
        if (size > int.MaxValue) return Err.ENOMEM; // arena offsets are spans: one disk below 2 GiB
        long at = ArenaHeap.Allocate(size);
        if (at < 0) return Err.ENOMEM;
        Channel.Current.Arena.Slice((int)at, (int)size).Clear();
        (_ram[d], _size[d], _identity[d]) = (at, size, identity);
        return Err.Ok;
    }

    /// <summary>Writes the RAM disks' sizes and identities to DS: "disk size identity" per line.</summary>
    public void Save()
    {
        var text = new System.Text.StringBuilder();
        for (int d = 0; d < RamDisks; d++)
            if (_ram[d] >= 0) text.Append(CultureInfo.InvariantCulture, $"{d} {_size[d]} {_identity[d]}\n");
        text.Append(CultureInfo.InvariantCulture, $"next {_nextIdentity}\n");
        int r = _backup.Save(text.ToString());
        // Saved again at every heartbeat. While DS is being restarted it is not there
        // (EDEADSRCDST), and right after, it refuses us (EPERM) until RS has told it our label
        // again: said once, only when such an outage lasts SaveOutageToSay.
        bool transient = r is Err.EPERM or Err.EDEADSRCDST;
        long now = Environment.TickCount64;
        if (r == Err.Ok) { _failingSince = -1; return; }
        if (!transient) { SysCall.Diag($"memory: cannot save the RAM disks in DS: {Err.Name(r)}"); return; }
        if (_failingSince < 0) _failingSince = now;
        else if (_failingSince != long.MaxValue && now - _failingSince >= SaveOutageToSay)
        {
            SysCall.Diag($"memory: cannot save the RAM disks in DS for {SaveOutageToSay / 1000} s: {Err.Name(r)}");
            _failingSince = long.MaxValue;   // said; quiet until a save succeeds
        }
    }

    /// <summary>Re-creates, empty, the RAM disks an earlier instance had (their contents are lost).</summary>
    private void Restore()
    {
        if (_backup.Load(out List<string[]> records) != Err.Ok) return;
        foreach (var rec in records)
        {
            if (rec is ["next", var n] && long.TryParse(n, CultureInfo.InvariantCulture, out long next) && next > 0) _nextIdentity = Math.Max(_nextIdentity, next);
            if (rec.Length != 3 || !int.TryParse(rec[0], CultureInfo.InvariantCulture, out int d) || d is < 0 or >= RamDisks || _ram[d] >= 0
                || !long.TryParse(rec[1], CultureInfo.InvariantCulture, out long size) || size <= 0 || size % Sector != 0 || size > MaxRamDisk
                || !long.TryParse(rec[2], CultureInfo.InvariantCulture, out long identity) || identity <= 0)
                continue;
            int r = Create(d, size, identity);
            if (r != Err.Ok)
            {
                SysCall.Diag($"memory: cannot re-create ram{d} ({size} bytes): {Err.Name(r)}");
                continue;
            }
            _lost[d] = true;
            _nextIdentity = Math.Max(_nextIdentity, identity + 1);
            SysCall.Diag($"memory: ram{d} (minor {FirstRamMinor + d}) re-created empty, {size} bytes, identity {identity}: its contents did not survive the restart");
        }
        Save();
    }
}
