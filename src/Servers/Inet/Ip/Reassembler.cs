// IPv4 fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2) with bounded memory: at most
// NetLimits.ReassemblySlots datagrams in progress and NetLimits.ReassemblyBytes of buffer among
// them; a datagram not complete within NetLimits.ReassemblyTimeout of its first fragment is
// discarded. Fragments may come in any order, repeat or overlap (later bytes overwrite earlier
// ones); arrival is tracked per 8-byte block in a bitmap. A fragment that would grow a datagram
// past 65535 bytes, or a non-final fragment whose length is not a multiple of 8, is dropped.
// The completed datagram is returned as spans into the slot's buffer, valid until the next call.
using System.Buffers;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Ip;

internal sealed class Reassembler(NetStats stats)
{
    private const int Blocks = (NetLimits.MaxDatagram + 7) / 8;

    private sealed class Slot
    {
        public bool Used;
        public Ip4Address Source, Destination;
        public byte Protocol;
        public ushort Id;
        public long Deadline;
        public byte[] Buffer = [];
        public readonly byte[] Header = new byte[60];
        public int HeaderLength;
        public int TotalLength = -1; // payload length, known once the last fragment arrived
        public readonly ulong[] Have = new ulong[(Blocks + 63) / 64];
    }

    private readonly Slot[] _slots = Enumerable.Range(0, NetLimits.ReassemblySlots).Select(_ => new Slot()).ToArray();
    private int _bytesInUse;

    public int SlotsInUse => _slots.Count(s => s.Used);
    public int BytesInUse => _bytesInUse;

    public long NextDeadline
    {
        get
        {
            long d = long.MaxValue;
            foreach (var s in _slots)
                if (s.Used) d = Math.Min(d, s.Deadline);
            return d;
        }
    }

    /// <summary>
    /// Adds one fragment. True when it completed its datagram: <paramref name="header"/> is the
    /// first fragment's header and <paramref name="payload"/> the whole payload.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> ipHeader, Ip4Address src, Ip4Address dst, byte protocol, ushort id,
        int offset, bool more, ReadOnlySpan<byte> data, long now, out ReadOnlySpan<byte> header, out ReadOnlySpan<byte> payload)
    {
        header = payload = default;
        ReturnLastFreed();
        int end = offset + data.Length;
        if (end + ipHeader.Length > NetLimits.MaxDatagram || (more && (data.Length & 7) != 0) || (more && data.Length == 0))
        {
            stats.Drop(DropReason.BadFragment);
            return false;
        }
        var s = Find(src, dst, protocol, id) ?? Start(src, dst, protocol, id, now);
        if (s == null)
        {
            stats.Drop(DropReason.ReassemblyOverflow);
            return false;
        }
        if (!more)
        {
            if ((s.TotalLength >= 0 && s.TotalLength != end) || end < HighestBlockEnd(s))
            {
                stats.Drop(DropReason.BadFragment); // two different ends: the datagram is garbage
                Free(s);
                return false;
            }
            s.TotalLength = end;
        }
        else if (s.TotalLength >= 0 && end > s.TotalLength)
        {
            stats.Drop(DropReason.BadFragment);
            Free(s);
            return false;
        }
        if (!Grow(s, end))
        {
            stats.Drop(DropReason.ReassemblyOverflow);
            Free(s);
            return false;
        }
        data.CopyTo(s.Buffer.AsSpan(offset));
        for (int b = offset / 8; b < (end + 7) / 8; b++) s.Have[b >> 6] |= 1UL << (b & 63);
        if (offset == 0)
        {
            ipHeader.CopyTo(s.Header);
            s.HeaderLength = ipHeader.Length;
        }
        if (s.TotalLength < 0 || s.HeaderLength == 0 || !Complete(s)) return false;
        header = s.Header.AsSpan(0, s.HeaderLength);
        payload = s.Buffer.AsSpan(0, s.TotalLength);
        Free(s); // the buffer goes back to the pool but stays readable until the next Add
        return true;
    }

    public void Expire(long now)
    {
        foreach (var s in _slots)
        {
            if (!s.Used || s.Deadline > now) continue;
            stats.Drop(DropReason.ReassemblyTimeout);
            Free(s);
        }
    }

    private Slot? Find(Ip4Address src, Ip4Address dst, byte protocol, ushort id)
    {
        foreach (var s in _slots)
            if (s.Used && s.Id == id && s.Source == src && s.Destination == dst && s.Protocol == protocol) return s;
        return null;
    }

    private Slot? Start(Ip4Address src, Ip4Address dst, byte protocol, ushort id, long now)
    {
        var s = _slots.FirstOrDefault(x => !x.Used);
        if (s == null) return null;
        s.Used = true;
        s.Source = src;
        s.Destination = dst;
        s.Protocol = protocol;
        s.Id = id;
        s.Deadline = now + NetLimits.ReassemblyTimeout;
        s.HeaderLength = 0;
        s.TotalLength = -1;
        Array.Clear(s.Have);
        return s;
    }

    private bool Grow(Slot s, int end)
    {
        if (s.Buffer.Length >= end) return true;
        int size = Math.Min(NetLimits.MaxDatagram, Math.Max(end, 2 * s.Buffer.Length));
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        // The pool rounds up (40000 → 65536): the bound counts what was rented.
        if (_bytesInUse - s.Buffer.Length + bigger.Length > NetLimits.ReassemblyBytes)
        {
            ArrayPool<byte>.Shared.Return(bigger);
            return false;
        }
        s.Buffer.CopyTo(bigger, 0);
        Release(s);
        s.Buffer = bigger;
        _bytesInUse += bigger.Length;
        return true;
    }

    private void Release(Slot s)
    {
        if (s.Buffer.Length == 0) return;
        _bytesInUse -= s.Buffer.Length;
        ArrayPool<byte>.Shared.Return(s.Buffer);
        s.Buffer = [];
    }

    private void Free(Slot s)
    {
        s.Used = false;
        // Keep the buffer readable for the caller of Add until the next call: return it lazily.
        ReturnLastFreed();
        _bytesInUse -= s.Buffer.Length;
        if (s.Buffer.Length != 0) _lastFreed = s.Buffer;
        s.Buffer = [];
    }

    private byte[]? _lastFreed;

    private void ReturnLastFreed()
    {
        if (_lastFreed != null) ArrayPool<byte>.Shared.Return(_lastFreed);
        _lastFreed = null;
    }

    private static bool Complete(Slot s)
    {
        int blocks = (s.TotalLength + 7) / 8;
        for (int b = 0; b < blocks; b++)
            if ((s.Have[b >> 6] & (1UL << (b & 63))) == 0) return false;
        return true;
    }

    private static int HighestBlockEnd(Slot s)
    {
        for (int w = s.Have.Length - 1; w >= 0; w--)
            if (s.Have[w] != 0) return ((w * 64) + 63 - System.Numerics.BitOperations.LeadingZeroCount(s.Have[w])) * 8 + 1;
        return 0;
    }
}
