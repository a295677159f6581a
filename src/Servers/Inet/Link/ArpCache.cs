// The ARP cache of one interface (RFC 826, RFC 1122 §2.3.2): a fixed table of NetLimits.ArpCacheEntries
// entries, each free, pending (a request is out, packets wait) or resolved (with an expiry time).
// A pending entry holds at most NetLimits.ArpPendingPerEntry frames, each a pooled buffer with
// room for the Ethernet header that is filled in when the address resolves; the oldest is dropped
// when the queue is full
// (NetLimits.ArpPendingPerEntry frames or NetLimits.ArpPendingBytes bytes). When the table is full a new address takes the resolved entry that expires
// first; if every entry is pending, the new address is refused. The engine drives retries and
// expiries (NetEngine.Arp.cs); this type only keeps the table.
using System.Buffers;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Link;

internal sealed class ArpCache
{
    internal enum EntryState : byte { Free, Pending, Resolved }

    internal sealed class Entry
    {
        public EntryState State;
        public Ip4Address Ip;
        public MacAddress Mac;
        public long Expires;
        public long NextRetry;
        public int Retries;
        public readonly byte[]?[] Pending = new byte[NetLimits.ArpPendingPerEntry][];
        public readonly int[] PendingLength = new int[NetLimits.ArpPendingPerEntry];
        public int PendingCount;
        public int PendingBytes;

        /// <summary>Returns the queued frames to the pool; the count of those dropped.</summary>
        public int ClearPending()
        {
            int n = PendingCount;
            for (int i = 0; i < n; i++)
            {
                ArrayPool<byte>.Shared.Return(Pending[i]!);
                Pending[i] = null;
            }
            PendingCount = 0;
            return n;
        }
    }

    private readonly Entry[] _entries = Enumerable.Range(0, NetLimits.ArpCacheEntries).Select(_ => new Entry()).ToArray();

    /// <summary>The table itself (an array, so that a sweep allocates nothing).</summary>
    public Entry[] Entries => _entries;

    public Entry? Find(Ip4Address ip)
    {
        foreach (var e in _entries)
            if (e.State != EntryState.Free && e.Ip == ip) return e;
        return null;
    }

    /// <summary>A free entry, or the resolved one expiring first; null if all are pending.</summary>
    public Entry? Allocate()
    {
        Entry? victim = null;
        foreach (var e in _entries)
        {
            if (e.State == EntryState.Free) return e;
            if (e.State == EntryState.Resolved && (victim == null || e.Expires < victim.Expires)) victim = e;
        }
        if (victim != null) victim.State = EntryState.Free;
        return victim;
    }

    /// <summary>Queues a frame (copied into a pooled buffer); the number of older frames dropped to make room.</summary>
    public static int Enqueue(Entry e, ReadOnlySpan<byte> frame)
    {
        int dropped = 0;
        while (e.PendingCount > 0 && (e.PendingCount == e.Pending.Length || e.PendingBytes + frame.Length > NetLimits.ArpPendingBytes))
        {
            e.PendingBytes -= e.PendingLength[0];
            ArrayPool<byte>.Shared.Return(e.Pending[0]!);
            Array.Copy(e.Pending, 1, e.Pending, 0, e.PendingCount - 1);
            Array.Copy(e.PendingLength, 1, e.PendingLength, 0, e.PendingCount - 1);
            e.PendingCount--;
            e.Pending[e.PendingCount] = null;
            dropped++;
        }
        var buf = ArrayPool<byte>.Shared.Rent(frame.Length);
        frame.CopyTo(buf);
        e.Pending[e.PendingCount] = buf;
        e.PendingLength[e.PendingCount++] = frame.Length;
        e.PendingBytes += frame.Length;
        return dropped;
    }

    public int Count(EntryState state) => _entries.Count(e => e.State == state);
}
