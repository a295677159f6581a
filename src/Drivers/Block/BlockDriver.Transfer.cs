// Reads and writes of a block driver: Read/Write with one granted buffer, Gather/Scatter with a
// granted vector of (grant, offset, length) entries. The data moves in chunks of the device's
// staging buffer (IBlockDevice.BufferBytes): a read has the device fill the buffer and copies
// it to the client's grants with SAFECOPYTO (one entry) or VSAFECOPY (several); a write copies
// from the grants first and then has the device write. A unit that lies in the driver's own
// memory (a RAM disk, IBlockDevice.Direct) is copied straight from or to the client.
// Rules: everything is checked before any data moves — the minor (ENXIO, EBADF), sizes (a
// buffer or every vector entry a positive multiple of the sector size, at most MaxTransfer in
// all, at most MaxVector entries: EINVAL), the position (not negative, sector aligned: EINVAL).
// A transfer that starts at or runs past the end of the minor moves the bytes before the end
// (a short count; 0 at the end), as MINIX does. A copy or device error ends the request with
// that error.
// Faults on purpose (BlockFaults, a driver's `fault=` argument): a request that passed every
// check is counted and may be hit — failed (EIO), dropped (no answer), answered without moving
// data, written one sector off, or read with one bit flipped on its way to the client (a chunk
// of a memory-backed unit that holds the bit goes through the staging buffer, so the unit's
// own data stays intact).
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block;

public sealed partial class BlockDriver
{
    private readonly BlockIoVector[] _segments = new BlockIoVector[BlockDriverCall.MaxVector];
    private long _vector = -1; // arena copy of a client's vector

    private int DoRead(int client, in BlockRequest req, ref BlockReply reply) => Simple(client, req, write: false, ref reply);

    private int DoWrite(int client, in BlockRequest req, ref BlockReply reply) => Simple(client, req, write: true, ref reply);

    private int DoGather(int client, in BlockRequest req, ref BlockReply reply) => Vectored(client, req, write: false, ref reply);

    private int DoScatter(int client, in BlockRequest req, ref BlockReply reply) => Vectored(client, req, write: true, ref reply);

    private int Simple(int client, in BlockRequest req, bool write, ref BlockReply reply)
    {
        if (req.Count <= 0 || req.Count > BlockDriverCall.MaxTransfer) return Err.EINVAL;
        _segments[0] = new BlockIoVector { GrantId = req.GrantId, Length = req.Count, Offset = 0 };
        return Transfer(client, req, 1, write, ref reply);
    }

    private int Vectored(int client, in BlockRequest req, bool write, ref BlockReply reply)
    {
        if (req.Count <= 0 || req.Count > BlockDriverCall.MaxVector) return Err.EINVAL;
        int r = CheckOpen(req.Minor, out _);
        if (r != Err.Ok) return r;
        r = SysCall.SafeCopyFrom(client, req.GrantId, 0, _vector, (long)req.Count * BlockIoVector.Size);
        if (r != Err.Ok) return r;
        var ch = Channel.Current;
        long total = 0;
        for (int i = 0; i < req.Count; i++)
        {
            var e = ch.At<BlockIoVector>(_vector + (long)i * BlockIoVector.Size);
            if (e.Length <= 0 || e.Offset < 0) return Err.EINVAL;
            total += e.Length;
            if (total > BlockDriverCall.MaxTransfer) return Err.EINVAL;
            _segments[i] = e;
        }
        return Transfer(client, req, req.Count, write, ref reply);
    }

    private int Transfer(int client, in BlockRequest req, int segments, bool write, ref BlockReply reply)
    {
        int r = CheckOpen(req.Minor, out var range);
        if (r != Err.Ok) return r;
        if (req.Position < 0 || req.Position % range.SectorSize != 0) return Err.EINVAL;
        long total = 0;
        for (int i = 0; i < segments; i++)
        {
            if (_segments[i].Length % range.SectorSize != 0) return Err.EINVAL;
            total += _segments[i].Length;
        }
        var fault = Faults is { } plan ? plan.Next(req.Minor, write) : BlockFaults.Kind.None;
        if (fault != BlockFaults.Kind.None) Injecting();
        if (fault == BlockFaults.Kind.Fail) return Err.EIO;
        if (fault == BlockFaults.Kind.Hang) return Err.EDONTREPLY;
        if (req.Position >= range.Size)
        {
            reply.Count = 0; // at or past the end: nothing moves
            return Err.Ok;
        }
        total = Math.Min(total, range.Size - req.Position);
        if (fault == BlockFaults.Kind.Noop)
        {
            reply.Count = (int)total;
            return Err.Ok;
        }
        long position = fault == BlockFaults.Kind.Misdirect
            ? BlockFaults.Misdirect(req.Position, total, range.Size, range.SectorSize) : req.Position;
        var (flipAt, flipBit) = fault == BlockFaults.Kind.Flip ? Faults!.Flip(total) : (-1L, 0);

        long moved = 0;
        while (moved < total)
        {
            int chunk = (int)Math.Min(total - moved, _device.BufferBytes);
            long at = range.Base + position + moved;
            long direct = _device.Direct(range.Unit, at, chunk);
            bool flipHere = flipAt >= moved && flipAt < moved + chunk;
            int n;
            if (direct >= 0 && !flipHere)
            {
                r = Copy(client, segments, moved, chunk, direct, toClient: !write);
                if (r != Err.Ok) return r;
                n = chunk;
            }
            else if (write)
            {
                r = Copy(client, segments, moved, chunk, _device.Buffer, toClient: false);
                if (r != Err.Ok) return r;
                n = _device.Transfer(range.Unit, write: true, at, chunk);
                if (n < 0) return n;
            }
            else
            {
                n = _device.Transfer(range.Unit, write: false, at, chunk);
                if (n < 0) return n;
                if (flipHere && flipAt < moved + n) Channel.Current.Arena[(int)(_device.Buffer + flipAt - moved)] ^= (byte)(1 << flipBit);
                if (n > 0)
                {
                    r = Copy(client, segments, moved, n, _device.Buffer, toClient: true);
                    if (r != Err.Ok) return r;
                }
            }
            moved += n;
            if (n < chunk) break; // the end of an unbounded device (/dev/null reads)
        }
        reply.Count = (int)moved;
        return Err.Ok;
    }

    /// <summary>Says once, the first time a fault is injected, that this driver misbehaves on purpose.</summary>
    private void Injecting()
    {
        if (Faults!.Applied == 1) SysCall.Diag($"{_label}: injecting fault {Faults} (test mode)");
    }

    /// <summary>Copies bytes [<paramref name="from"/>, +<paramref name="length"/>) of the request's
    /// data — the concatenation of its segments — between the client's grants and our arena at
    /// <paramref name="local"/>, with one SAFECOPY or one VSAFECOPY.</summary>
    private int Copy(int client, int segments, long from, int length, long local, bool toClient)
    {
        Span<VSafeCopyEntry> v = stackalloc VSafeCopyEntry[BlockDriverCall.MaxVector];
        int n = 0;
        long start = 0, end = from + length;
        for (int i = 0; i < segments && start < end; i++)
        {
            var s = _segments[i];
            long lo = Math.Max(start, from), hi = Math.Min(start + s.Length, end);
            if (lo < hi)
            {
                v[n++] = new VSafeCopyEntry
                {
                    From = toClient ? Endpoint.Self : client,
                    To = toClient ? client : Endpoint.Self,
                    GrantId = s.GrantId,
                    GrantOffset = s.Offset + (lo - start),
                    LocalOffset = local + (lo - from),
                    Length = hi - lo,
                };
            }
            start += s.Length;
        }
        if (n != 1) return SysCall.VSafeCopy(v[..n]);
        var e = v[0];
        return toClient ? SysCall.SafeCopyTo(client, e.GrantId, e.GrantOffset, e.LocalOffset, e.Length)
                        : SysCall.SafeCopyFrom(client, e.GrantId, e.GrantOffset, e.LocalOffset, e.Length);
    }
}
