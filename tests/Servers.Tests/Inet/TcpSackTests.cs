// Selective acknowledgment on the receiving side (RFC 2018) and the out-of-order data it
// reports, against a RawPeer in virtual time: SACK is offered in every SYN and used only when
// both SYNs carry it; an ACK sent while data is missing lists the held ranges, the one with the
// latest arrival first; ranges merge, drain when the hole fills, and wrap around the receive ring.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;

namespace Bulkhead.Servers.Tests.Inet;

public class TcpSackTests
{
    private const byte FIN = RawPeer.FIN, SYN = RawPeer.SYN, ACK = RawPeer.ACK;
    private static readonly byte[] SackPermitted = [1, 1, 4, 2];

    private static byte[] Data(int n, int salt = 0) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 + salt)).ToArray();

    /// <summary>The SACK blocks of a segment's options, in order; null when it has no SACK option.</summary>
    private static List<(uint Left, uint Right)>? Blocks(Seg g)
    {
        var o = g.Options;
        for (int i = 0; i < o.Length;)
        {
            if (o[i] == 0) break;
            if (o[i] == 1)
            {
                i++;
                continue;
            }
            int len = o[i + 1];
            if (o[i] == 5)
            {
                var blocks = new List<(uint, uint)>();
                for (int b = i + 2; b + 8 <= i + len; b += 8)
                    blocks.Add((BinaryPrimitives.ReadUInt32BigEndian(o.AsSpan(b)), BinaryPrimitives.ReadUInt32BigEndian(o.AsSpan(b + 4))));
                return blocks;
            }
            i += len;
        }
        return null;
    }

    private static bool HasOption(Seg g, byte kind)
    {
        var o = g.Options;
        for (int i = 0; i < o.Length;)
        {
            if (o[i] == 0) return false;
            if (o[i] == 1)
            {
                i++;
                continue;
            }
            if (o[i] == kind) return true;
            i += o[i + 1];
        }
        return false;
    }

    [Fact]
    public void Syn_OffersSackPermitted_SynAckOnlyWhenThePeerDid()
    {
        var r = new RawPeer();
        r.E.TcpConnect(RawPeer.PeerAddr, r.PeerPort, out _, 80);
        Assert.True(HasOption(r.LastSegment, 4));

        var with = new RawPeer();
        with.E.TcpListen(Bulkhead.Servers.Inet.Wire.Ip4Address.Any, 80, 4, out _);
        with.Send(SYN, 7000, 0, options: SackPermitted);
        Assert.True(HasOption(with.LastSegment, 4));

        var without = new RawPeer();
        without.E.TcpListen(Bulkhead.Servers.Inet.Wire.Ip4Address.Any, 80, 4, out _);
        without.Send(SYN, 7000, 0);
        Assert.False(HasOption(without.LastSegment, 4));
    }

    [Fact]
    public void OutOfOrder_WithoutSack_AcksCarryNoBlocks()
    {
        var r = new RawPeer();
        var (_, _, iss) = r.PassiveOpen();
        r.Send(ACK, 7201, iss + 1, Data(100));
        Assert.Equal(7001u, r.LastSegment.Ack);
        Assert.Null(Blocks(r.LastSegment));
    }

    [Fact]
    public void OutOfOrder_AcksListHeldRanges_LatestFirst_MergedAndDrained()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen(synOptions: SackPermitted);
        var d = Data(500);
        r.Send(ACK, 7201, iss + 1, d.AsSpan(200, 100));
        Assert.Equal(7001u, r.LastSegment.Ack);
        Assert.Equal([(7201u, 7301u)], Blocks(r.LastSegment));
        r.Send(ACK, 7401, iss + 1, d.AsSpan(400, 100));
        Assert.Equal([(7401u, 7501u), (7201u, 7301u)], Blocks(r.LastSegment));
        r.Send(ACK, 7201, iss + 1, d.AsSpan(200, 50)); // a duplicate: the range holding it first
        Assert.Equal([(7201u, 7301u), (7401u, 7501u)], Blocks(r.LastSegment));
        r.Send(ACK, 7301, iss + 1, d.AsSpan(300, 100)); // joins both ranges into one
        Assert.Equal([(7201u, 7501u)], Blocks(r.LastSegment));
        Assert.Equal(0, s.Available);
        r.Send(ACK, 7001, iss + 1, d.AsSpan(0, 200));
        Assert.Equal(7501u, r.LastSegment.Ack);
        Assert.Null(Blocks(r.LastSegment)); // nothing held any more
        var buf = new byte[600];
        Assert.Equal(500, s.Receive(buf));
        Assert.Equal(d, buf[..500]);
    }

    [Fact]
    public void OutOfOrder_ManyRanges_AtMostThreeBlocksBesideTimestamps()
    {
        var r = new RawPeer();
        byte[] sackAndTs = [4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
        var (_, _, iss) = r.PassiveOpen(synOptions: sackAndTs);
        for (uint i = 0; i < 5; i++)
            r.Send(ACK, 7101 + 200 * i, iss + 1, Data(100), options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0]);
        var blocks = Blocks(r.LastSegment)!;
        Assert.Equal(3, blocks.Count);
        Assert.Equal((7901u, 8001u), blocks[0]);
        Assert.Equal(60, 20 + r.LastSegment.Options.Length); // the whole 40 bytes of options
    }

    [Fact]
    public void OutOfOrder_Fin_HeldUntilTheHoleFills()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen(synOptions: SackPermitted);
        var d = Data(200);
        r.Send(ACK | FIN, 7101, iss + 1, d.AsSpan(100, 100));
        Assert.Equal(7001u, r.LastSegment.Ack);
        Assert.Equal(TcpState.Established, s.State);
        r.Send(ACK, 7001, iss + 1, d.AsSpan(0, 100));
        Assert.Equal(7202u, r.LastSegment.Ack); // data and FIN
        Assert.Equal(TcpState.CloseWait, s.State);
        var buf = new byte[300];
        Assert.Equal(200, s.Receive(buf));
        Assert.Equal(d, buf[..200]);
    }

    [Fact]
    public void OutOfOrder_DataAcrossTheRingsWrap_ArrivesIntact()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen(synOptions: SackPermitted, receiveBuffer: NetLimits.MinTcpBuffer);
        var first = Data(3000, 1);
        r.Send(ACK, 7001, iss + 1, first.AsSpan(0, 1000));
        r.Send(ACK, 8001, iss + 1, first.AsSpan(1000, 1000));
        r.Send(ACK, 9001, iss + 1, first.AsSpan(2000, 1000));
        var buf = new byte[4096];
        Assert.Equal(3000, s.Receive(buf)); // the ring's front is now 3000 bytes in
        Assert.Equal(first, buf[..3000]);
        var d = Data(2000, 3);
        r.Send(ACK, 10001 + 800, iss + 1, d.AsSpan(800, 1000)); // 3800..4800: wraps past 4096
        r.Send(ACK, 10001 + 1800, iss + 1, d.AsSpan(1800, 200));
        Assert.Equal([(10801u, 12001u)], Blocks(r.LastSegment)); // touching ranges merge
        r.Send(ACK, 10001, iss + 1, d.AsSpan(0, 800));
        Assert.Equal(12001u, r.LastSegment.Ack);
        Assert.Equal(2000, s.Receive(buf));
        Assert.Equal(d, buf[..2000]);
    }

    [Fact]
    public void OutOfOrder_PastTheWindow_Refused()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen(synOptions: SackPermitted, receiveBuffer: NetLimits.MinTcpBuffer);
        r.Send(ACK, 7001 + 4000, iss + 1, Data(500)); // only 96 bytes of it fit
        Assert.Equal([(11001u, 11097u)], Blocks(r.LastSegment));
        r.Send(ACK, 7001 + 5000, iss + 1, Data(100));
        Assert.Equal(1, r.E.Stats[DropReason.OutOfWindow]);
        Assert.Equal(0, s.Available);
    }
}
