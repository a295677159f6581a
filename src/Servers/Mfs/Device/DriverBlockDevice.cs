// The MFS engine's disk when MFS runs as a server: IBlockDevice over a BlockClient, i.e. over a
// block driver reached by its DS label through the block-driver protocol (docs/block.md, "The
// client"). The driver's restarts and failures are handled inside the client (thesis §4.3.1);
// what reaches the engine is only the final result: true when the whole range moved, false
// otherwise (an error after the client's retries, or a short transfer — the range runs past
// the end of the minor). The client's counters stay visible through Client.
// Rules: offsets and lengths are checked here as the interface says (inside Size, whole
// sectors) before anything is sent; the device owns the client and closes it on Dispose.
using Bulkhead.Lib.Block;

namespace Bulkhead.Servers.Mfs.Device;

public sealed class DriverBlockDevice : IBlockDevice, IDisposable
{
    private DriverBlockDevice(BlockClient client) => Client = client;

    public BlockClient Client { get; }

    public long Size => Client.Size;

    /// <summary>Opens <paramref name="minor"/> of the driver labelled <paramref name="label"/>:
    /// Err.Ok and the device, or the client's negative Err.</summary>
    public static int Open(string label, int minor, bool writable, out DriverBlockDevice? device)
    {
        device = null;
        int r = BlockClient.Open(label, minor, writable, out var client);
        if (r != 0) return r;
        device = new DriverBlockDevice(client!);
        return r;
    }

    public bool Read(long offset, Span<byte> buffer) =>
        InRange(offset, buffer.Length) && Client.Read(offset, buffer) == buffer.Length;

    public bool Write(long offset, ReadOnlySpan<byte> data) =>
        InRange(offset, data.Length) && Client.Write(offset, data) == data.Length;

    public bool Flush() => Client.Flush() == 0;

    public void Dispose() => Client.Dispose();

    private bool InRange(long offset, int length) =>
        offset >= 0 && offset <= Size - length && offset % Client.SectorSize == 0 && length % Client.SectorSize == 0;
}
