// Malformed input of every kind, seeded (the seed is in each test's name and message): random
// bytes, and valid frames from real exchanges mutated — bit flips, overwritten bytes, cuts,
// extensions, rewritten length fields — half of them with their checksums recomputed so the
// damage reaches the deeper parsers. The engine must never throw, must count what it drops,
// and its tables must stay inside their bounds.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class FuzzTests
{
    /// <summary>Recomputes the IPv4 header checksum and the transport checksum where the lengths allow.</summary>
    private static void FixChecksums(byte[] f)
    {
        if (f.Length < 34 || Frames.EtherTypeOf(f) != 0x0800) return;
        var ip = f.AsSpan(14);
        int ihl = (ip[0] & 0xF) * 4;
        if (ihl < 20 || ihl > ip.Length) return;
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..ihl]));
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (total < ihl || total > ip.Length || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0) return;
        var t = ip[ihl..total];
        uint src = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]), dst = BinaryPrimitives.ReadUInt32BigEndian(ip[16..]);
        int at = ip[9] switch { 6 => 16, 17 => 6, 1 => 2, _ => -1 };
        if (at < 0 || t.Length < at + 2) return;
        t[at] = t[at + 1] = 0;
        ushort sum = ip[9] == 1 ? Checksum.Compute(t) : Checksum.Finish(Checksum.Sum(t, Checksum.PseudoHeader(src, dst, ip[9], t.Length)));
        BinaryPrimitives.WriteUInt16BigEndian(t[at..], sum);
    }

    private static void AssertBounded(NetEngine e)
    {
        Assert.InRange(e.SocketCount, 0, NetLimits.MaxSockets);
        var bytes = (int)typeof(NetEngine).GetProperty("ReassemblyBytesInUse", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(e)!;
        Assert.InRange(bytes, 0, NetLimits.ReassemblyBytes);
    }

    /// <summary>Frames of a real exchange A→B: ARP, ping, UDP (also fragmented), a TCP transfer and close.</summary>
    private static List<byte[]> Corpus(int seed)
    {
        var p = new Pair(seed, mtu: 1000);
        var echo = p.A.OpenEcho()!;
        echo.Send(Pair.AddrB, 1, new byte[100]);
        var u = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        p.B.UdpBind(Ip4Address.Any, 2000, out _);
        u.SendTo(Pair.AddrB, 2000, new byte[3000]);
        u.SendTo(Pair.AddrB, 2001, new byte[10]);
        var (c, s, _) = TcpTestKit.Connect(p);
        var pump = new TcpPump(c, s, 100_000, seed);
        Assert.True(p.Run(pump.Step));
        s.Close();
        p.Run(() => c.State == TcpState.TimeWait);
        return [.. p.PortA.Sent, .. p.PortB.Sent.Select(f => { var g = (byte[])f.Clone(); Pair.MacA.Write(g); return g; })];
    }

    [Theory]
    [InlineData(101)]
    [InlineData(102)]
    [InlineData(103)]
    public void RandomBytes_NeverThrow_AreCounted(int seed)
    {
        var p = new Pair(seed);
        var (c, s, l) = TcpTestKit.Connect(p);
        p.B.UdpBind(Ip4Address.Any, 53, out _);
        var rnd = new Random(seed);
        long inBefore = p.B.Stats.FramesIn;
        for (int i = 0; i < 50_000; i++)
        {
            var f = new byte[rnd.Next(0, 1600)];
            rnd.NextBytes(f);
            if (f.Length >= 14 && rnd.Next(4) != 0)
            {
                Pair.MacB.Write(f);                                          // get past the MAC filter
                BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), rnd.Next(2) == 0 ? (ushort)0x0800 : (ushort)0x0806);
                if (f.Length >= 34 && rnd.Next(2) == 0)
                {
                    f[14] = 0x45;                                              // a plausible IPv4 header
                    Pair.AddrB.Write(f.AsSpan(30));
                    f[23] = (byte)(rnd.Next(3) switch { 0 => 6, 1 => 17, _ => 1 });
                    if (rnd.Next(2) == 0) FixChecksums(f);
                }
            }
            p.B.FrameArrived(0, f, p.Net.Now + i);
        }
        Assert.Equal(50_000, p.B.Stats.FramesIn - inBefore);
        Assert.True(p.B.Stats.TotalDrops > 40_000, $"seed {seed}: only {p.B.Stats.TotalDrops} drops counted");
        AssertBounded(p.B);
        // The connection that was open still works (the odd random RST in window only earns a challenge ACK).
        if (c.State == TcpState.Established && s.State == TcpState.Established)
        {
            var pump = new TcpPump(c, s, 50_000, seed, closeWhenDone: false);
            Assert.True(p.Run(pump.Step, 60 * NetLimits.Second), $"seed {seed}");
            Assert.True(pump.HashesMatch());
        }
    }

    [Theory]
    [InlineData(201)]
    [InlineData(202)]
    [InlineData(203)]
    public void MutatedValidFrames_NeverThrow_StayBounded(int seed)
    {
        var corpus = Corpus(seed);
        var rnd = new Random(seed);
        var target = new Pair(seed + 1000);
        target.B.TcpListen(Ip4Address.Any, 80, 8, out _);
        target.B.UdpBind(Ip4Address.Any, 2000, out _);
        long now = 0;
        for (int i = 0; i < 60_000; i++)
        {
            var f = (byte[])corpus[rnd.Next(corpus.Count)].Clone();
            int mutations = rnd.Next(1, 4);
            for (int m = 0; m < mutations && f.Length > 0; m++)
            {
                switch (rnd.Next(6))
                {
                    case 0: f[rnd.Next(f.Length)] ^= (byte)(1 << rnd.Next(8)); break;
                    case 1: f[rnd.Next(f.Length)] = (byte)rnd.Next(256); break;
                    case 2: f = f[..rnd.Next(f.Length)]; break;
                    case 3: f = [.. f, .. new byte[rnd.Next(1, 64)]]; break;
                    case 4 when f.Length > 18: BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)rnd.Next(65536)); break; // IP total length
                    case 5 when f.Length > 14: f[14] = (byte)(0x40 | rnd.Next(16)); break;                                        // IHL
                }
            }
            if (rnd.Next(2) == 0) FixChecksums(f);
            now += rnd.Next(0, 2000);
            target.B.FrameArrived(0, f, now);
            if (target.B.NextDeadline <= now) target.B.Advance(now);
        }
        Assert.True(target.B.Stats.TotalDrops > 0);
        AssertBounded(target.B);
        target.B.Advance(now + (10 * 60 * NetLimits.Second)); // every timer runs out
        AssertBounded(target.B);
        Assert.True(target.B.TcpConnectionCount <= NetLimits.MaxSockets);
    }

    [Fact]
    public void TcpOptions_PastHeaderOrTruncated_AreCounted()
    {
        var r = new RawPeer();
        r.E.TcpListen(Ip4Address.Any, 80, 4, out _);
        r.Send(RawPeer.SYN, 1, 0, options: [2, 4, 5, 0xb4, 8, 10, 0, 0]);  // timestamp option cut short
        r.Send(RawPeer.SYN, 1, 0, options: [1, 1, 1, 2]);                  // kind 2 with no length byte
        r.Send(RawPeer.SYN, 1, 0, options: [3, 1, 0, 0]);                  // length 1 (< 2)
        Assert.Equal(3, r.E.Stats[DropReason.TcpOptionsPastHeader]);
        Assert.Equal(0, r.E.TcpConnectionCount);
        var bad = Frames.Tcp(RawPeer.PeerAddr, Pair.AddrB, 1, 80, 1, 0, RawPeer.SYN);
        bad[12] = 0xF0; // data offset 60 bytes in a 20-byte segment
        bad[16] = bad[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(bad.AsSpan(16), Checksum.Finish(Checksum.Sum(bad, Checksum.PseudoHeader(RawPeer.PeerAddr.Value, Pair.AddrB.Value, 6, bad.Length))));
        r.E.FrameArrived(0, Frames.IpFrame(Pair.MacB, RawPeer.PeerMac, RawPeer.PeerAddr, Pair.AddrB, 6, bad), 0);
        Assert.Equal(1, r.E.Stats[DropReason.MalformedTcp]);
        var sum = Frames.Tcp(RawPeer.PeerAddr, Pair.AddrB, 1, 80, 1, 0, RawPeer.SYN);
        sum[16] ^= 1;
        r.E.FrameArrived(0, Frames.IpFrame(Pair.MacB, RawPeer.PeerMac, RawPeer.PeerAddr, Pair.AddrB, 6, sum), 0);
        Assert.Equal(1, r.E.Stats[DropReason.BadTcpChecksum]);
    }
}
