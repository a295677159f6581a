// TCP timing and windows against a RawPeer in virtual time: RTO doubling and giving up
// (RFC 6298 §5), Karn's rule, fast retransmit on the third duplicate ACK and NewReno recovery
// (RFC 5681, RFC 6582), zero-window probes (RFC 9293 §3.8.6.1), delayed ACK (RFC 1122
// §4.2.3.2), window updates, the out-of-order queue and PAWS (RFC 7323 §5).
using System.Buffers.Binary;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;

namespace Bulkhead.Servers.Tests.Inet;

public class TcpTimingTests
{
    private const byte FIN = RawPeer.FIN, SYN = RawPeer.SYN, RST = RawPeer.RST, ACK = RawPeer.ACK;
    private const int Mss = 1460;
    private static readonly byte[] MssOption = [2, 4, 0x05, 0xb4];
    private const long Ms = NetLimits.Millisecond;

    private static byte[] Data(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7)).ToArray();

    [Fact]
    public void Rto_NoAck_DoublesEachTimeThenGivesUpWithRst()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen(synOptions: MssOption);
        Assert.Equal(NetLimits.MinRto, s.Rto); // the handshake's RTT sample was 0 in virtual time
        s.Send(Data(100));
        r.Net.RunFor(30 * 60 * NetLimits.Second);
        var sends = r.Segments().Where(g => g.DataLength == 100).ToList();
        Assert.Equal(1 + NetLimits.MaxRetransmits, sends.Count);
        Assert.All(sends, g => Assert.Equal(iss + 1, g.Seq));
        var gaps = sends.Zip(sends.Skip(1), (a, b) => b.At - a.At).ToList();
        long expected = NetLimits.MinRto;
        foreach (var gap in gaps)
        {
            // Exact doubling; a resend that first had to re-resolve the peer's expired ARP entry
            // leaves 200 µs (the simulated ARP round trip) later.
            Assert.InRange(gap, expected - Ms, expected + Ms);
            expected = Math.Min(2 * expected, NetLimits.MaxRto);
        }
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(NetError.TimedOut, s.PendingError);
        Assert.True(r.LastSegment.Rst);
    }

    [Fact]
    public void Karn_AckOfRetransmittedSegment_GivesNoRttSample()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen(synOptions: MssOption);
        Assert.Equal(0, s.SmoothedRtt);
        s.Send(Data(100));
        r.Net.RunFor(NetLimits.MinRto + Ms); // one retransmission
        Assert.Equal(1, s.Retries);
        Assert.Equal(2 * NetLimits.MinRto, s.Rto);
        r.Net.RunFor(50 * Ms);
        r.Send(ACK, 5001, iss + 101);
        Assert.Equal(0, s.SmoothedRtt);          // no sample: the ACK may be for either copy
        Assert.Equal(2 * NetLimits.MinRto, s.Rto); // the backed-off RTO stays until a real sample
        s.Send(Data(100));
        r.Net.RunFor(80 * Ms);
        r.Send(ACK, 5001, iss + 201);
        Assert.Equal(80 * Ms / 8, s.SmoothedRtt); // RFC 6298 (2.3): SRTT = 7/8·0 + 1/8·80 ms
        Assert.Equal(NetLimits.MinRto, s.Rto);
    }

    [Fact]
    public void FastRetransmit_ThreeDuplicateAcks_ResendsAtOnceAndRecovers()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen(synOptions: MssOption);
        s.NoDelay = true;
        Assert.Equal(20 * Mss, s.Send(Data(20 * Mss)));
        uint first = iss + 1;
        Assert.Equal(3, r.Segments().Count(g => g.DataLength == Mss)); // initial window: 4380 bytes = 3 segments
        r.Send(ACK, 5001, first + Mss);                                  // slow start: cwnd 4 segments
        int sent = r.Segments().Count(g => g.DataLength == Mss);
        Assert.Equal(5, sent);
        long before = r.Now;
        for (int i = 0; i < 2; i++) r.Send(ACK, 5001, first + Mss);
        Assert.Equal(sent, r.Segments().Count(g => g.DataLength == Mss)); // two duplicates: nothing yet
        r.Send(ACK, 5001, first + Mss);
        var holes = r.Segments().Where(g => g.Seq == first + Mss && g.DataLength == Mss).ToList();
        Assert.Equal(2, holes.Count);                                    // the third: resend the hole
        var re = holes[1];
        Assert.Equal(before, re.At);                                     // at once, not after an RTO
        Assert.True(s.InFastRecovery);
        Assert.Equal(1, r.E.Stats.TcpFastRetransmits);
        uint ssthresh = s.SlowStartThreshold;
        Assert.Equal((uint)(2 * Mss), ssthresh);                         // max(FlightSize/2, 2·SMSS), flight 4 segments
        Assert.Equal(ssthresh + (3 * Mss), s.CongestionWindow);
        // Everything sent so far acknowledged: recovery ends, cwnd deflates to ssthresh at most.
        uint highest = r.Segments().Max(g => g.Seq + (uint)g.DataLength);
        r.Send(ACK, 5001, highest);
        Assert.False(s.InFastRecovery);
        Assert.True(s.CongestionWindow <= ssthresh);
    }

    [Fact]
    public void ZeroWindow_PeerStaysShut_ProbesWithBackoffAndNeverGivesUp()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen(synOptions: MssOption);
        s.NoDelay = true;
        s.Send(Data(3000));
        uint first = iss + 1;
        // The peer takes the first segment and shuts its window.
        r.Send(ACK, 5001, first + Mss, window: 0);
        int before = r.SegmentCount;
        r.Net.RunFor(20 * 60 * NetLimits.Second);
        var probes = r.Segments().Skip(before).ToList();
        Assert.True(probes.Count >= 3, $"{probes.Count} probes");
        // Answer each probe with a zero window: here, only the last ones were answered by nobody,
        // which is the same to the sender (a probe is not a retransmission: no give-up).
        Assert.All(probes, g => Assert.True(g.DataLength == 1 && g.Seq == first + Mss));
        var gaps = probes.Zip(probes.Skip(1), (a, b) => b.At - a.At).ToList();
        // Non-decreasing, up to the odd ARP re-resolution (200 µs) when the peer's entry expired.
        Assert.True(gaps.Zip(gaps.Skip(1), (a, b) => b >= a - Ms).All(x => x), string.Join(",", gaps));
        Assert.True(gaps[^1] > 10 * gaps[0]);
        Assert.True(gaps[^1] <= NetLimits.MaxPersist + Ms);
        Assert.Equal(TcpState.Established, s.State);
        // Window opens: the rest flows.
        r.Send(ACK, 5001, first + Mss, window: 65535);
        Assert.Contains(r.Segments().Skip(before + probes.Count), g => g.DataLength > 1);
    }

    [Fact]
    public void ZeroWindow_ProbeRefusedThenAccepted_DataCompletes()
    {
        var p = new Pair(9);
        var (c, s, _) = TcpTestKit.Connect(p, buffer: NetLimits.MinTcpBuffer);
        var payload = Data(50_000);
        int written = c.Send(payload);
        Assert.True(p.Run(() => s.Available == NetLimits.MinTcpBuffer)); // the receiver's buffer is full
        p.Net.RunFor(5 * NetLimits.Second);                               // window shut: probes only
        Assert.Equal(TcpState.Established, c.State);
        var got = new List<byte>();
        var buf = new byte[1000];
        Assert.True(p.Run(() =>
        {
            if (written < payload.Length)
            {
                int n = c.Send(payload.AsSpan(written));
                if (n > 0) written += n;
            }
            int k;
            while ((k = s.Receive(buf)) > 0) got.AddRange(buf.AsSpan(0, k).ToArray());
            return got.Count == payload.Length;
        }, 120 * NetLimits.Second));
        Assert.Equal(payload, got.ToArray());
    }

    [Fact]
    public void DelayedAck_OneSegmentWaits_TwoFullSegmentsAckAtOnce()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen();
        int n = r.SegmentCount;
        long arrived = r.Now;
        r.Send(ACK, 7001, iss + 1, Data(100));
        Assert.Equal(n, r.SegmentCount);             // not yet
        Assert.Equal(arrived + NetLimits.DelayedAck, r.E.NextDeadline);
        r.Net.RunFor(NetLimits.Second);
        Assert.Equal(n + 1, r.SegmentCount);
        Assert.Equal(7101u, r.LastSegment.Ack);
        Assert.Equal(arrived + NetLimits.DelayedAck, r.LastSegment.At);
        r.Send(ACK, 7101, iss + 1, Data(536));
        r.Send(ACK, 7637, iss + 1, Data(536));
        Assert.Equal(n + 2, r.SegmentCount);         // every second segment
        Assert.Equal(7101u + 1072, r.LastSegment.Ack);
    }

    [Fact]
    public void OutOfOrder_SegmentsQueuedThenDrainedWhenHoleFills()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen();
        var d = Data(300);
        r.Send(ACK, 7201, iss + 1, d.AsSpan(200, 100));
        Assert.Equal(7001u, r.LastSegment.Ack); // immediate duplicate ACK
        r.Send(ACK, 7101, iss + 1, d.AsSpan(100, 100));
        Assert.Equal(7001u, r.LastSegment.Ack);
        Assert.Equal(0, s.Available);
        r.Send(ACK, 7001, iss + 1, d.AsSpan(0, 100));
        Assert.Equal(7301u, r.LastSegment.Ack); // the filled hole is acknowledged at once
        var buf = new byte[400];
        Assert.Equal(300, s.Receive(buf));
        Assert.Equal(d, buf[..300]);
    }

    [Fact]
    public void OutOfOrder_QueueBounded_OverflowCounted()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen();
        for (int i = 0; i < NetLimits.OutOfOrderRanges + 10; i++)
            r.Send(ACK, 7001 + 10 + ((uint)i * 20), iss + 1, Data(10)); // holes of 10 between them
        Assert.Equal(10, r.E.Stats[DropReason.OutOfOrderOverflow]);
    }

    [Fact]
    public void Window_FullThenRead_SendsWindowUpdate()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Bulkhead.Servers.Inet.Wire.Ip4Address.Any, 80, 4, out _, receiveBuffer: NetLimits.MinTcpBuffer)!;
        r.Send(SYN, 7000, 0, options: MssOption);
        uint iss = r.LastSegment.Seq;
        r.Send(ACK, 7001, iss + 1);
        var s = l.Accept()!;
        uint seq = 7001;
        for (int i = 0; i < 4; i++, seq += 1024) r.Send(ACK, seq, iss + 1, Data(1024));
        r.Net.RunFor(NetLimits.Second);
        Assert.Equal(0, r.LastSegment.Window);
        r.Send(ACK, seq, iss + 1, Data(10)); // past the shut window: refused, re-acknowledged
        Assert.Equal(seq, r.LastSegment.Ack);
        Assert.Equal(1, r.E.Stats[DropReason.OutOfWindow]);
        int n = r.SegmentCount;
        Assert.Equal(4096, s.Receive(new byte[8192]));
        Assert.Equal(n + 1, r.SegmentCount);
        Assert.Equal(4096, r.LastSegment.Window);
    }

    [Fact]
    public void Paws_OldTimestamp_IsDroppedAndAcked()
    {
        var r = new RawPeer();
        byte[] ts(uint val) { var o = new byte[12]; o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10; BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(4), val); return o; }
        var l = r.E.TcpListen(Bulkhead.Servers.Inet.Wire.Ip4Address.Any, 80, 4, out _)!;
        r.Send(SYN, 7000, 0, options: [.. MssOption, 1, 3, 3, 2, .. ts(1000)]);
        var synAck = r.LastSegment;
        r.Send(ACK, 7001, synAck.Seq + 1, options: ts(1001));
        var s = l.Accept()!;
        Assert.True(s.Timestamps && s.WindowScaling);
        r.Send(ACK, 7001, synAck.Seq + 1, Data(10), options: ts(1002));
        r.Send(ACK, 7011, synAck.Seq + 1, Data(10), options: ts(500)); // an old duplicate, by its clock
        Assert.Equal(1, r.E.Stats[DropReason.PawsRejected]);
        Assert.Equal(10, s.Available);
    }
}
