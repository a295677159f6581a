// A hand-driven TCP peer for exact protocol tests: one engine ("E", 10.0.0.2) on a port that
// only captures, and a peer at 10.0.0.9 whose segments the test writes field by field. The
// test reads what E sent with LastSegment/Segments (parsed here, not by the engine's code).
using System.Buffers.Binary;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

internal sealed record Seg(uint Seq, uint Ack, byte Flags, ushort Window, int DataLength, byte[] Data, byte[] Options, long At)
{
    public bool Syn => (Flags & 2) != 0;
    public bool Fin => (Flags & 1) != 0;
    public bool Rst => (Flags & 4) != 0;
    public bool HasAck => (Flags & 16) != 0;
}

internal sealed class RawPeer
{
    public const byte FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;
    public static readonly Ip4Address PeerAddr = Ip4Address.Parse("10.0.0.9");
    public static readonly MacAddress PeerMac = new(0x02_00_00_00_00_09);

    public RawPeer(int seed = 1)
    {
        Net = new SimNet(seed);
        E = new NetEngine(seed);
        Port = Net.Port(E);
        Net.AddEngine(E);
        E.AddInterface("eth0", Pair.MacB, Pair.AddrB, Pair.Mask24, Port);
        // The peer answers E's ARP requests for its address (after entries expire, say).
        Port.Responder = f => Frames.EtherTypeOf(f) == 0x0806 && Frames.ArpOp(f) == 1 && Frames.ArpTarget(f) == PeerAddr
            ? Frames.Arp(2, PeerMac, PeerAddr, Pair.MacB, Pair.AddrB, Pair.MacB) : null;
        // Introduce the peer: E learns its MAC from a request for E's own address.
        E.FrameArrived(0, Frames.Arp(1, PeerMac, PeerAddr, MacAddress.Zero, Pair.AddrB, MacAddress.Broadcast), 0);
    }

    public SimNet Net { get; }
    public NetEngine E { get; }
    public SimPort Port { get; }
    public ushort PeerPort { get; set; } = 40000;

    public long Now => Net.Now;

    public void Send(byte flags, uint seq, uint ack, ReadOnlySpan<byte> data = default, ushort window = 65535, byte[]? options = null, ushort? dport = null) =>
        E.FrameArrived(0, Frames.IpFrame(Pair.MacB, PeerMac, PeerAddr, Pair.AddrB, 6,
            Frames.Tcp(PeerAddr, Pair.AddrB, PeerPort, dport ?? 80, seq, ack, flags, window, data, options)), Net.Now);

    /// <summary>Every TCP segment E sent so far, in order.</summary>
    public List<Seg> Segments()
    {
        var list = new List<Seg>();
        for (int i = 0; i < Port.Sent.Count; i++)
            if (Parse(i) is { } g) list.Add(g);
        return list;
    }

    private Seg? Parse(int i)
    {
        var f = Port.Sent[i];
        if (Frames.EtherTypeOf(f) != 0x0800 || Frames.IpProtocolOf(f) != 6) return null;
        var t = f.AsSpan(14 + ((f[14] & 0xF) * 4));
        int hl = (t[12] >> 4) * 4;
        return new Seg(BinaryPrimitives.ReadUInt32BigEndian(t[4..]), BinaryPrimitives.ReadUInt32BigEndian(t[8..]), t[13],
            BinaryPrimitives.ReadUInt16BigEndian(t[14..]), t.Length - hl, t[hl..].ToArray(), t[20..hl].ToArray(), Port.SentAt[i]);
    }

    public Seg LastSegment
    {
        get
        {
            for (int i = Port.Sent.Count - 1; i >= 0; i--)
                if (Parse(i) is { } g) return g;
            throw new InvalidOperationException("E sent no TCP segment");
        }
    }
    public int SegmentCount => Segments().Count;

    /// <summary>Connects E (client) to the peer: returns E's socket in ESTABLISHED and E's ISS.</summary>
    public (TcpSocket Socket, uint Iss) ActiveOpen(uint peerIss = 5000, byte[]? synOptions = null)
    {
        var s = E.TcpConnect(PeerAddr, PeerPort, out var err, 80) ?? throw new InvalidOperationException(err.ToString());
        var syn = LastSegment;
        Assert.True(syn.Syn && !syn.HasAck);
        Send(SYN | ACK, peerIss, syn.Seq + 1, options: synOptions);
        Assert.Equal(TcpState.Established, s.State);
        return (s, syn.Seq);
    }

    /// <summary>E listens on 80, the peer connects: E's accepted socket in ESTABLISHED and E's ISS.</summary>
    public (TcpSocket Socket, TcpSocket Listener, uint Iss) PassiveOpen(uint peerIss = 7000, byte[]? synOptions = null, int? receiveBuffer = null)
    {
        var l = receiveBuffer is { } size ? E.TcpListen(Ip4Address.Any, 80, 4, out _, receiveBuffer: size)! : E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        Send(SYN, peerIss, 0, options: synOptions);
        var synAck = LastSegment;
        Assert.True(synAck.Syn && synAck.HasAck);
        Assert.Equal(peerIss + 1, synAck.Ack);
        Send(ACK, peerIss + 1, synAck.Seq + 1);
        var s = l.Accept()!;
        Assert.Equal(TcpState.Established, s.State);
        return (s, l, synAck.Seq);
    }
}
