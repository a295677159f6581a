// The minors of a block driver: which unit and byte range each names, their open counts, the
// MBR partitions of a disk (read from sector 0 when the disk is opened while none of its minors
// is), and the requests that do not move data: Open, Close, Ioctl (IoctlGeometry here, the rest
// to the device) and Flush.
// Rules: a minor the device does not have is ENXIO; a request other than Open on a minor not
// opened with this instance of the driver is EBADF (a restarted driver knows no opens, and its
// clients learn it this way and reopen); an Open never fails for a malformed partition table,
// which just gives no partitions.
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block;

public sealed partial class BlockDriver
{
    /// <summary>Most minors of an unpartitioned device.</summary>
    public const int MaxMinors = 64;

    private int[] _opens = [];
    private MbrTable.Partition[] _partitions = new MbrTable.Partition[BlockDriverCall.Partitions];

    /// <summary>The byte range of a minor: its unit, base and size on that unit, its sector size.</summary>
    private readonly record struct MinorRange(int Unit, long Base, long Size, int SectorSize);

    private void InitMinors()
    {
        int minors = _device.Partitioned ? 1 + BlockDriverCall.Partitions : Math.Clamp(_device.Units, 0, MaxMinors);
        _opens = new int[minors];
    }

    /// <summary>Opens of <paramref name="minor"/> with this instance (for tests and diagnostics).</summary>
    public int OpenCount(int minor) => minor >= 0 && minor < _opens.Length ? _opens[minor] : 0;

    private bool TryMinor(int minor, out MinorRange range)
    {
        range = default;
        if (minor < 0 || minor >= _opens.Length) return false;
        int unit = _device.Partitioned ? 0 : minor;
        if (_device.Describe(unit, out long bytes, out int sector) != Err.Ok || sector <= 0) return false;
        if (!_device.Partitioned || minor == 0)
        {
            range = new MinorRange(unit, 0, bytes, sector);
            return true;
        }
        var p = _partitions[minor - 1];
        range = new MinorRange(unit, p.Start * sector, p.Sectors * sector, sector);
        return p.Sectors > 0;
    }

    /// <summary>The minor of a request that is not Open: ENXIO if there is none, EBADF if not open.</summary>
    private int CheckOpen(int minor, out MinorRange range)
    {
        if (!TryMinor(minor, out range)) return Err.ENXIO;
        return _opens[minor] > 0 ? Err.Ok : Err.EBADF;
    }

    private int DoOpen(int client, in BlockRequest req, ref BlockReply reply)
    {
        if (req.Minor < 0 || req.Minor >= _opens.Length) return Err.ENXIO;
        if (req.Access == 0 || (req.Access & ~(BlockDriverCall.AccessRead | BlockDriverCall.AccessWrite)) != 0) return Err.EINVAL;
        if (_device.Partitioned && Array.TrueForAll(_opens, n => n == 0)) ReadPartitions();
        if (!TryMinor(req.Minor, out var range)) return Err.ENXIO;
        _opens[req.Minor]++;
        reply.Size = range.Size;
        reply.Base = range.Base;
        reply.SectorSize = range.SectorSize;
        reply.Partitions = PartitionCount(req.Minor);
        reply.Flags = _device.Opened(range.Unit);
        return Err.Ok;
    }

    private int DoClose(int client, in BlockRequest req, ref BlockReply reply)
    {
        if (!TryMinor(req.Minor, out _)) return Err.ENXIO;
        if (_opens[req.Minor] == 0) return Err.EINVAL;
        _opens[req.Minor]--;
        return Err.Ok;
    }

    private int DoIoctl(int client, in BlockRequest req, ref BlockReply reply)
    {
        int r = CheckOpen(req.Minor, out var range);
        if (r != Err.Ok) return r;
        if (req.Ioctl != BlockDriverCall.IoctlGeometry) return _device.Ioctl(range.Unit, req.Ioctl, req.Argument);
        reply.Size = range.Size;
        reply.Base = range.Base;
        reply.SectorSize = range.SectorSize;
        reply.Partitions = PartitionCount(req.Minor);
        return Err.Ok;
    }

    private int DoFlush(int client, in BlockRequest req, ref BlockReply reply)
    {
        int r = CheckOpen(req.Minor, out var range);
        return r != Err.Ok ? r : _device.Flush(range.Unit);
    }

    private int PartitionCount(int minor) =>
        _device.Partitioned && minor == 0 ? _partitions.Count(p => p.Sectors > 0) : 0;

    /// <summary>Reads sector 0 of the disk and takes its partition table; none on a read error or a malformed table.</summary>
    private void ReadPartitions()
    {
        _partitions = new MbrTable.Partition[BlockDriverCall.Partitions];
        if (_device.Describe(0, out long bytes, out int sector) != Err.Ok || sector < 512 || bytes < sector) return;
        int n = _device.Transfer(0, write: false, 0, sector);
        if (n != sector)
        {
            SysCall.Diag($"{_label}: cannot read the partition table: {(n < 0 ? Err.Name(n) : "short read")}");
            return;
        }
        _partitions = MbrTable.Parse(Channel.Current.Arena.Slice((int)_device.Buffer, sector), bytes / sector);
    }
}
