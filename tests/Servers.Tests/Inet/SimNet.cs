// A simulated Ethernet for engine tests, in virtual time: ports connected in pairs (or to a
// capture), each direction with a latency, a bandwidth (serialization delay), a bounded queue
// (drop-tail, like a switch port) and seeded loss, duplication, reordering and corruption.
// Run advances virtual time to the next frame delivery or engine deadline, never reading a
// clock, so a run is a pure function of the seed.
using Bulkhead.Servers.Inet;

namespace Bulkhead.Servers.Tests.Inet;

internal sealed class SimNet(int seed)
{
    private readonly PriorityQueue<(SimPort To, byte[] Frame), (long At, long Order)> _queue = new();
    private readonly List<NetEngine> _engines = [];
    private readonly Random _random = new(seed);
    private long _order;

    public long Now { get; private set; }
    public int Seed { get; } = seed;

    public double Loss { get; set; }
    public double Duplicate { get; set; }
    public double Reorder { get; set; }
    public double Corrupt { get; set; }
    public long Latency { get; set; } = 100; // µs one way
    /// <summary>Bits per second of each direction; 0 = infinitely fast.</summary>
    public long Bandwidth { get; set; }
    /// <summary>Frames queued per direction before tail drop.</summary>
    public int QueueLimit { get; set; } = 1000;
    public long Delivered { get; private set; }

    public void AddEngine(NetEngine e) => _engines.Add(e);

    /// <summary>A port whose frames go to <paramref name="peer"/>'s engine on its interface.</summary>
    public SimPort Port(NetEngine owner) => new(this, owner);

    public static void Connect(SimPort a, SimPort b)
    {
        a.Peer = b;
        b.Peer = a;
    }

    internal void Send(SimPort from, byte[] frame)
    {
        if (from.Capture)
        {
            from.Sent.Add(frame);
            from.SentAt.Add(Now);
        }
        if (from.Down) return;
        if (from.Peer == null)
        {
            // No peer: a responder may answer (a reply travels back after the latency).
            if (from.Responder?.Invoke(frame) is { } reply) _queue.Enqueue((from, reply), (Now + (2 * Latency), _order++));
            return;
        }
        var to = from.Peer;
        if (_random.NextDouble() < Loss) return;
        int copies = _random.NextDouble() < Duplicate ? 2 : 1;
        for (int c = 0; c < copies; c++)
        {
            var f = c == 0 ? frame : (byte[])frame.Clone();
            if (_random.NextDouble() < Corrupt) f[_random.Next(f.Length)] ^= (byte)(1 << _random.Next(8));
            if (from.InQueue >= QueueLimit)
            {
                from.TailDrops++;
                continue;
            }
            long start = Math.Max(Now, from.BusyUntil);
            long serialize = Bandwidth == 0 ? 0 : (f.Length + 24) * 8L * 1_000_000 / Bandwidth;
            from.BusyUntil = start + serialize;
            long at = from.BusyUntil + Latency;
            if (_random.NextDouble() < Reorder) at += _random.Next(1, 4) * Math.Max(Latency, 50);
            from.InQueue++;
            _queue.Enqueue((to, f), (at, _order++));
        }
    }

    /// <summary>Runs until <paramref name="done"/> holds or virtual time passes <paramref name="limit"/> µs from now; true if done.</summary>
    public bool Run(Func<bool> done, long limit)
    {
        long end = Now + limit;
        while (!done())
        {
            long next = long.MaxValue;
            if (_queue.TryPeek(out _, out var p)) next = p.At;
            foreach (var e in _engines) next = Math.Min(next, e.NextDeadline);
            if (next > end)
            {
                Now = end;
                foreach (var e in _engines) e.Advance(Now);
                return done();
            }
            Now = Math.Max(Now, next);
            while (_queue.TryPeek(out var item, out var q) && q.At <= Now)
            {
                _queue.Dequeue();
                if (item.To.Peer != null) item.To.Peer.InQueue--;
                Delivered++;
                if (!item.To.Down) item.To.Owner.FrameArrived(item.To.Interface, item.Frame, Now);
            }
            foreach (var e in _engines)
                if (e.NextDeadline <= Now) e.Advance(Now);
        }
        return true;
    }

    /// <summary>Advances virtual time by <paramref name="time"/> µs, running everything due.</summary>
    public void RunFor(long time) => Run(() => false, time);
}

internal sealed class SimPort(SimNet net, NetEngine owner) : INetLink
{
    public NetEngine Owner { get; } = owner;
    public int Interface { get; set; }
    public SimPort? Peer { get; set; }
    /// <summary>A down port neither sends nor receives (the driver under it is dead).</summary>
    public bool Down { get; set; }
    public long BusyUntil { get; set; }
    public int InQueue { get; set; }
    public long TailDrops { get; set; }
    public bool Capture { get; set; } = true;
    /// <summary>For a port with no peer: answers a frame the engine sent (e.g. ARP), or null.</summary>
    public Func<byte[], byte[]?>? Responder { get; set; }
    /// <summary>Every frame the engine handed to this port, in order (while Capture).</summary>
    public List<byte[]> Sent { get; } = [];
    /// <summary>The virtual time at which each frame of Sent was handed over.</summary>
    public List<long> SentAt { get; } = [];

    public void Transmit(ReadOnlySpan<byte> frame) => net.Send(this, frame.ToArray());
}
