// Device files (docs/vfs.md "Devices"): a character or block special file names its driver by
// its major number (DeviceMap) and its minor; VFS reads and writes it through a BlockClient of the
// block-driver protocol, which hides driver restarts (it reopens the minor and reissues the
// request). One client per (label, minor), shared by every open file of it (Uses).
// Positions and lengths need not be multiples of the sector size: the edges are read whole, and a
// write of part of a sector reads the sector first (read-modify-write).
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Vfs;

public sealed class Device
{
    public Device(string label, int minor, BlockClient client)
    {
        Label = label;
        Minor = minor;
        Client = client;
    }

    public string Label { get; }
    public int Minor { get; }
    public BlockClient Client { get; }
    public int Uses { get; set; }

    /// <summary>Reads into <paramref name="into"/> at <paramref name="position"/> using
    /// <paramref name="scratch"/> (at least into.Length + 2 sectors) for the edges.</summary>
    public int Read(long position, Span<byte> into, Span<byte> scratch)
    {
        if (position < 0) return Err.EINVAL;
        if (DeviceMap.IsNull(Label, Minor)) return 0; // end of file at once (DeviceMap.IsNull)
        int sector = Math.Max(Client.SectorSize, 1);
        if (position >= Client.Size) return 0;
        long end = Math.Min(position + into.Length, Client.Size);
        if (end <= position) return 0;
        long start = position - position % sector;
        long stop = (end + sector - 1) / sector * sector;
        int n = (int)(stop - start);
        if (n > scratch.Length) return Err.EINVAL;
        int r = Client.Read(start, scratch[..n]);
        if (r < 0) return r;
        int skip = (int)(position - start);
        int got = Math.Max(0, Math.Min(r - skip, (int)(end - position)));
        scratch.Slice(skip, got).CopyTo(into);
        return got;
    }

    public int Write(long position, ReadOnlySpan<byte> data, Span<byte> scratch)
    {
        if (position < 0) return Err.EINVAL;
        int sector = Math.Max(Client.SectorSize, 1);
        if (position >= Client.Size) return data.Length == 0 ? 0 : Err.ENOSPC;
        long end = Math.Min(position + data.Length, Client.Size);
        long start = position - position % sector;
        long stop = (end + sector - 1) / sector * sector;
        int n = (int)(stop - start);
        if (n > scratch.Length) return Err.EINVAL;
        int skip = (int)(position - start);
        if (skip != 0 || stop != end)
        {
            // Part of a sector: keep the rest of it as it is.
            int r = Client.Read(start, scratch[..n]);
            if (r < 0) return r;
        }
        int count = (int)(end - position);
        data[..count].CopyTo(scratch.Slice(skip, count));
        int w = Client.Write(start, scratch[..n]);
        if (w < 0) return w;
        return Math.Max(0, Math.Min(w - skip, count));
    }
}
