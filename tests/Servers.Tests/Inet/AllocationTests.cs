// The fast path allocates nothing per packet (issue 10's throughput goal): a steady TCP
// transfer between two engines over a link that reuses its own buffers is measured with the
// runtime's per-thread allocation counter after a warm-up.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Wire;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Inet;

public class AllocationTests(ITestOutputHelper output)
{
    /// <summary>A link that copies frames into recycled buffers and delivers them in order.</summary>
    private sealed class RecyclingLink : INetLink
    {
        private readonly Stack<byte[]> _free = new();
        public readonly Queue<(byte[] Buffer, int Length)> Pending = new(4096);
        public NetEngine? To;

        public RecyclingLink()
        {
            for (int i = 0; i < 4096; i++) _free.Push(new byte[1514]);
        }

        public void Transmit(ReadOnlySpan<byte> frame)
        {
            var b = _free.Pop();
            frame.CopyTo(b);
            Pending.Enqueue((b, frame.Length));
        }

        public int Deliver(long now)
        {
            int n = Pending.Count;
            for (int i = 0; i < n; i++)
            {
                var (b, len) = Pending.Dequeue();
                To!.FrameArrived(0, b.AsSpan(0, len), now);
                _free.Push(b);
            }
            return n;
        }
    }

    [Fact]
    public void SteadyTransfer_AllocatesNothingPerSegment()
    {
        var a = new NetEngine(1);
        var b = new NetEngine(2);
        var la = new RecyclingLink { To = b };
        var lb = new RecyclingLink { To = a };
        a.AddInterface("eth0", Pair.MacA, Pair.AddrA, Pair.Mask24, la);
        b.AddInterface("eth0", Pair.MacB, Pair.AddrB, Pair.Mask24, lb);
        long now = 0;
        void Step()
        {
            now += 20;
            la.Deliver(now);
            lb.Deliver(now);
            if (a.NextDeadline <= now) a.Advance(now);
            if (b.NextDeadline <= now) b.Advance(now);
        }
        var listener = b.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        var client = a.TcpConnect(Pair.AddrB, 80, out _)!;
        Bulkhead.Servers.Inet.Tcp.TcpSocket? server = null;
        for (int i = 0; i < 100 && server == null; i++)
        {
            Step();
            server = listener.Accept();
        }
        Assert.NotNull(server);
        var chunk = new byte[65536];
        new Random(3).NextBytes(chunk);
        var sink = new byte[65536];
        long moved = 0;
        void Move(long bytes)
        {
            long target = moved + bytes;
            while (moved < target)
            {
                client.Send(chunk);
                Step();
                int n;
                while ((n = server!.Receive(sink)) > 0) moved += n;
            }
        }
        Move(4 << 20); // warm-up: pools, queues and the JIT reach their steady state
        long segmentsBefore = a.Stats.FramesOut + b.Stats.FramesOut;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Move(16 << 20);
        double seconds = clock.Elapsed.TotalSeconds;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{16 / seconds:F0} MiB/s through both engines on one thread (send, checksum twice, receive, ACK)");
        long frames = a.Stats.FramesOut + b.Stats.FramesOut - segmentsBefore;
        output.WriteLine($"{allocated} bytes allocated for {frames} frames");
        Assert.True(frames > 10_000);
        Assert.True(allocated < frames, $"{allocated} bytes allocated for {frames} frames");
    }
}
