// Every transition of RFC 9293's state diagram (Figure 5), simultaneous open and close, RST in
// each state with RFC 5961's exact-match rule, SYN in a synchronized state, TIME-WAIT, and the
// RST for a segment nobody takes. Engine-to-engine where the diagram is walked by ordinary
// calls; against a RawPeer where a test needs a segment no well-behaved engine would send.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class TcpStateTests
{
    private const byte FIN = RawPeer.FIN, SYN = RawPeer.SYN, RST = RawPeer.RST, ACK = RawPeer.ACK;

    [Fact]
    public void PassiveOpen_ListenSynReceivedEstablished()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        Assert.Equal(TcpState.Listen, l.State);
        r.Send(SYN, 100, 0);
        Assert.Equal(1, r.E.TcpConnectionCount);
        Assert.Null(l.Accept()); // SYN-RECEIVED children are not acceptable yet
        var sa = r.LastSegment;
        r.Send(ACK, 101, sa.Seq + 1);
        var s = l.Accept();
        Assert.NotNull(s);
        Assert.Equal(TcpState.Established, s!.State);
    }

    [Fact]
    public void AbortedListener_FreesItsPort_ForTheNextListen()
    {
        // INET aborts the sockets of a program that died; its restarted server must be able to
        // listen on the same port (a daytimed killed with SIGKILL and restarted by RS).
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        r.Send(SYN, 100, 0);                          // a child in SYN-RECEIVED goes with it
        Assert.Null(r.E.TcpListen(Ip4Address.Any, 80, 4, out var busy));
        Assert.Equal(NetError.AddressInUse, busy);
        l.Abort();
        Assert.Equal(TcpState.Closed, l.State);
        var again = r.E.TcpListen(Ip4Address.Any, 80, 4, out var e);
        Assert.Equal(NetError.None, e);
        Assert.Equal(TcpState.Listen, again!.State);
    }

    [Fact]
    public void ActiveOpen_SynSentEstablished()
    {
        var r = new RawPeer();
        var s = r.E.TcpConnect(RawPeer.PeerAddr, r.PeerPort, out _, 80)!;
        Assert.Equal(TcpState.SynSent, s.State);
        Assert.False(s.Readiness.HasFlag(Readiness.Writable));
        var syn = r.LastSegment;
        r.Send(SYN | ACK, 900, syn.Seq + 1);
        Assert.Equal(TcpState.Established, s.State);
        Assert.Equal(901u, r.LastSegment.Ack);
        Assert.True(s.Readiness.HasFlag(Readiness.Writable));
    }

    [Fact]
    public void SimultaneousOpen_BothSynSentThenSynReceivedThenEstablished()
    {
        var p = new Pair();
        p.Net.Latency = 5 * NetLimits.Millisecond;
        // Teach both ARP first, so that the SYNs really cross on the wire.
        var ea = p.A.OpenEcho()!;
        ea.Send(Pair.AddrB, 1, "x"u8);
        Assert.True(p.Run(() => ea.Receive() != null));
        var a = p.A.TcpConnect(Pair.AddrB, 6000, out _, 5000)!;
        var b = p.B.TcpConnect(Pair.AddrA, 5000, out _, 6000)!;
        Assert.Equal(TcpState.SynSent, a.State);
        Assert.True(p.Run(() => a.State == TcpState.SynReceived && b.State == TcpState.SynReceived, NetLimits.Second));
        Assert.True(p.Run(() => a.State == TcpState.Established && b.State == TcpState.Established, NetLimits.Second));
        Assert.Equal(5, a.Send("hello"u8));
        var buf = new byte[16];
        Assert.True(p.Run(() => b.Available == 5));
        Assert.Equal(5, b.Receive(buf));
    }

    [Fact]
    public void ActiveClose_FinWait1FinWait2TimeWaitClosed()
    {
        var p = new Pair();
        var (c, s, _) = TcpTestKit.Connect(p);
        c.Close();
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.True(p.Run(() => c.State == TcpState.FinWait2));
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.Equal(0, s.Receive(new byte[8])); // end of stream
        s.Close();
        Assert.Equal(TcpState.LastAck, s.State);
        Assert.True(p.Run(() => c.State == TcpState.TimeWait));
        Assert.True(p.Run(() => s.State == TcpState.Closed));
        // The program closed it: the id is free already, the four-tuple is held for 2·MSL.
        Assert.Equal(0, p.A.SocketCount);
        Assert.Equal(1, p.A.TimeWaitCount);
        Assert.Equal(Readiness.Closed, c.Readiness);
        p.Net.RunFor(NetLimits.TimeWait - 10 * NetLimits.Millisecond);
        Assert.Equal(TcpState.TimeWait, c.State);
        p.Net.RunFor(20 * NetLimits.Millisecond);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(0, p.A.TcpConnectionCount);
        Assert.Equal(0, p.A.TimeWaitCount);
    }

    [Fact]
    public void SimultaneousClose_FinWait1ClosingTimeWait()
    {
        var p = new Pair();
        p.Net.Latency = 5 * NetLimits.Millisecond;
        var (c, s, _) = TcpTestKit.Connect(p);
        c.Shutdown();
        s.Shutdown();
        Assert.Equal(TcpState.FinWait1, c.State);
        Assert.Equal(TcpState.FinWait1, s.State);
        Assert.True(p.Run(() => c.State == TcpState.Closing && s.State == TcpState.Closing, NetLimits.Second));
        Assert.True(p.Run(() => c.State == TcpState.TimeWait && s.State == TcpState.TimeWait, NetLimits.Second));
        Assert.True(p.Run(() => c.State == TcpState.Closed && s.State == TcpState.Closed, 2 * NetLimits.TimeWait));
    }

    [Fact]
    public void FinWait1_FinWithAckOfOurFin_GoesStraightToTimeWait()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen();
        s.Shutdown();
        var fin = r.LastSegment;
        Assert.True(fin.Fin);
        Assert.Equal(iss + 1, fin.Seq);
        r.Send(FIN | ACK, 5001, iss + 2);
        Assert.Equal(TcpState.TimeWait, s.State);
        Assert.Equal(5002u, r.LastSegment.Ack);
    }

    [Fact]
    public void PassiveClose_CloseWaitLastAckClosed()
    {
        var r = new RawPeer();
        var (s, _, iss) = r.PassiveOpen();
        r.Send(FIN | ACK, 7001, iss + 1);
        Assert.Equal(TcpState.CloseWait, s.State);
        Assert.True(s.Readiness.HasFlag(Readiness.Readable));
        s.Close();
        Assert.Equal(TcpState.LastAck, s.State);
        Assert.True(r.LastSegment.Fin);
        r.Send(ACK, 7002, iss + 2);
        Assert.Equal(TcpState.Closed, s.State);
    }

    [Fact]
    public void TimeWait_RetransmittedFin_IsAckedAgain()
    {
        var r = new RawPeer();
        var (s, iss) = r.ActiveOpen();
        s.Shutdown();
        r.Send(FIN | ACK, 5001, iss + 2);
        Assert.Equal(TcpState.TimeWait, s.State);
        int n = r.SegmentCount;
        r.Net.RunFor(NetLimits.Second);
        r.Send(FIN | ACK, 5001, iss + 2); // our ACK was lost; the peer repeats its FIN
        Assert.Equal(n + 1, r.SegmentCount);
        Assert.Equal(5002u, r.LastSegment.Ack);
        Assert.Equal(TcpState.TimeWait, s.State);
    }

    [Fact]
    public void TimeWait_NewSynBeyondOldSequence_ReopensThroughListener()
    {
        var r = new RawPeer();
        var (s, l, iss) = r.PassiveOpen();
        s.Close();                                  // E closes first: E will hold TIME-WAIT
        r.Send(ACK | FIN, 7001, iss + 2);
        Assert.Equal(TcpState.TimeWait, s.State);
        r.Send(SYN, 7001 + 100_000, 0);             // the same four-tuple, a new incarnation
        Assert.Equal(TcpState.Closed, s.State);
        var synAck = r.LastSegment;
        Assert.True(synAck.Syn && synAck.HasAck);
        Assert.Equal(7001u + 100_001, synAck.Ack);
        r.Send(ACK, 7001 + 100_001, synAck.Seq + 1);
        Assert.NotNull(l.Accept());
    }

    [Fact]
    public void TimeWait_ManyClosedConnections_StayOutOfSocketTableAndBounded()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        for (int i = 0; i < NetLimits.MaxTimeWait + 20; i++)
        {
            r.PeerPort = (ushort)(10000 + i);
            r.Send(SYN, 1000, 0);
            uint iss = r.LastSegment.Seq;
            r.Send(ACK, 1001, iss + 1);
            var s = l.Accept()!;
            s.Close();
            r.Send(ACK | FIN, 1001, iss + 2);
            Assert.Equal(TcpState.TimeWait, s.State);
        }
        Assert.Equal(1, r.E.SocketCount);                                   // only the listener
        Assert.Equal(NetLimits.MaxTimeWait, r.E.TimeWaitCount);              // the oldest 20 ended early
        Assert.Equal(NetLimits.MaxTimeWait, r.E.TcpConnectionCount);
        r.Net.RunFor(NetLimits.TimeWait + NetLimits.Second);
        Assert.Equal(0, r.E.TimeWaitCount);
        Assert.Equal(0, r.E.TcpConnectionCount);
    }

    [Fact]
    public void SynSent_ShutdownWithQueuedData_SendsDataAndFinOnceEstablished()
    {
        var r = new RawPeer();
        var s = r.E.TcpConnect(RawPeer.PeerAddr, r.PeerPort, out _, 80)!;
        var syn = r.LastSegment;
        Assert.Equal(5, s.Send("early"u8));
        s.Shutdown();
        Assert.Equal(TcpState.SynSent, s.State);
        r.Send(SYN | ACK, 900, syn.Seq + 1);
        Assert.Equal(TcpState.FinWait1, s.State);
        var last = r.LastSegment;
        Assert.True(last.Fin);
        Assert.Equal("early"u8.ToArray(), last.Data);
    }

    [Fact]
    public void SynSent_Close_GoesToClosed()
    {
        var r = new RawPeer();
        var s = r.E.TcpConnect(RawPeer.PeerAddr, r.PeerPort, out _, 80)!;
        s.Close();
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(0, r.E.SocketCount);
    }

    [Fact]
    public void Listen_Close_GoesToClosedAndRefusesNewSyns()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        l.Close();
        Assert.Equal(TcpState.Closed, l.State);
        r.Send(SYN, 1, 0);
        Assert.True(r.LastSegment.Rst);
        Assert.Equal(1, r.E.Stats[DropReason.NoTcpListener]);
    }

    [Fact]
    public void Listen_CloseWithHandshakesInProgress_ResetsThem()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        r.Send(SYN, 100, 0);
        var synAck = r.LastSegment;
        l.Close();
        Assert.True(r.LastSegment.Rst);
        Assert.Equal(0, r.E.TcpConnectionCount);
        Assert.Equal(0, r.E.SocketCount);
        r.Send(ACK, 101, synAck.Seq + 1);
        Assert.True(r.LastSegment.Rst);
    }

    [Fact]
    public void SynSent_RstWithAcceptableAck_IsConnectionRefused()
    {
        var r = new RawPeer();
        var s = r.E.TcpConnect(RawPeer.PeerAddr, r.PeerPort, out _, 80)!;
        var syn = r.LastSegment;
        r.Send(RST | ACK, 0, syn.Seq + 5); // unacceptable ACK: ignored
        Assert.Equal(TcpState.SynSent, s.State);
        r.Send(RST | ACK, 0, syn.Seq + 1);
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(NetError.ConnectionRefused, s.PendingError);
        Assert.True(s.Readiness.HasFlag(Readiness.Error));
    }

    [Fact]
    public void SynReceived_Rst_DropsChildListenerStays()
    {
        var r = new RawPeer();
        var l = r.E.TcpListen(Ip4Address.Any, 80, 4, out _)!;
        r.Send(SYN, 100, 0);
        Assert.Equal(1, r.E.TcpConnectionCount);
        r.Send(RST, 101, 0);
        Assert.Equal(0, r.E.TcpConnectionCount);
        Assert.Equal(TcpState.Listen, l.State);
        Assert.Null(l.Accept());
        r.Send(SYN, 200, 0); // the backlog slot came back
        Assert.True(r.LastSegment.Syn);
    }

    public static TheoryData<TcpState> SynchronizedStates => [TcpState.Established, TcpState.FinWait1, TcpState.FinWait2, TcpState.CloseWait, TcpState.Closing, TcpState.LastAck, TcpState.TimeWait];

    /// <summary>Brings a RawPeer connection into <paramref name="state"/>; returns the socket and the peer's next sequence number.</summary>
    private static (TcpSocket S, uint PeerNxt, uint Iss) Into(RawPeer r, TcpState state)
    {
        var (s, iss) = r.ActiveOpen();
        uint nxt = 5001;
        switch (state)
        {
            case TcpState.FinWait1: s.Shutdown(); break;
            case TcpState.FinWait2: s.Shutdown(); r.Send(ACK, nxt, iss + 2); break;
            case TcpState.CloseWait: r.Send(FIN | ACK, nxt++, iss + 1); break;
            case TcpState.Closing: s.Shutdown(); r.Send(FIN | ACK, nxt++, iss + 1); break;
            case TcpState.LastAck: r.Send(FIN | ACK, nxt++, iss + 1); s.Shutdown(); break;
            case TcpState.TimeWait: s.Shutdown(); r.Send(FIN | ACK, nxt++, iss + 2); break;
        }
        Assert.Equal(state, s.State);
        return (s, nxt, iss);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void Rst_AtRcvNxt_ClosesInEveryState(TcpState state)
    {
        var r = new RawPeer();
        var (s, nxt, _) = Into(r, state);
        int before = r.SegmentCount;
        r.Send(RST, nxt, 0);
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(before, r.SegmentCount); // never answer a RST
        var expected = state is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait
            ? NetError.ConnectionReset : NetError.None;
        Assert.Equal(expected, s.PendingError);
        Assert.Equal(0, r.E.TcpConnectionCount);
    }

    [Theory]
    [MemberData(nameof(SynchronizedStates))]
    public void Rst_InWindowButNotExact_GetsChallengeAck(TcpState state)
    {
        var r = new RawPeer();
        var (s, nxt, _) = Into(r, state);
        int before = r.SegmentCount;
        r.Send(RST, nxt + 100, 0);
        Assert.Equal(state, s.State);
        Assert.Equal(before + 1, r.SegmentCount);
        Assert.True(r.LastSegment.HasAck && !r.LastSegment.Rst);
        Assert.Equal(nxt, r.LastSegment.Ack);
        Assert.Equal(1, r.E.Stats[DropReason.RstChallenged]);
    }

    [Fact]
    public void Rst_OutOfWindow_IsDroppedSilently()
    {
        var r = new RawPeer();
        var (s, nxt, _) = Into(r, TcpState.Established);
        int before = r.SegmentCount;
        r.Send(RST, nxt + 10_000_000, 0);
        Assert.Equal(TcpState.Established, s.State);
        Assert.Equal(before, r.SegmentCount);
        Assert.Equal(1, r.E.Stats[DropReason.OutOfWindow]);
    }

    [Fact]
    public void Syn_InEstablished_GetsChallengeAck()
    {
        var r = new RawPeer();
        var (s, nxt, _) = Into(r, TcpState.Established);
        r.Send(SYN, nxt + 5, 0);
        Assert.Equal(TcpState.Established, s.State);
        Assert.Equal(nxt, r.LastSegment.Ack);
        Assert.False(r.LastSegment.Rst);
    }

    [Fact]
    public void Segment_ForNoSocket_GetsRst()
    {
        var r = new RawPeer();
        r.Send(SYN, 1000, 0, dport: 81);
        var rst = r.LastSegment;
        Assert.True(rst.Rst && rst.HasAck);
        Assert.Equal(1001u, rst.Ack);
        r.Send(ACK, 1000, 4242, dport: 81);
        Assert.True(r.LastSegment.Rst);
        Assert.Equal(4242u, r.LastSegment.Seq);
        int n = r.SegmentCount;
        r.Send(RST, 1000, 0, dport: 81);
        Assert.Equal(n, r.SegmentCount);
        Assert.Equal(3, r.E.Stats[DropReason.NoTcpListener]);
    }

    [Fact]
    public void Abort_Established_SendsRstAndPeerSeesReset()
    {
        var p = new Pair();
        var (c, s, _) = TcpTestKit.Connect(p);
        c.Abort();
        Assert.Equal(TcpState.Closed, c.State);
        Assert.True(p.Run(() => s.State == TcpState.Closed));
        Assert.Equal(NetError.ConnectionReset, s.PendingError);
        Assert.Equal(NetError.ConnectionReset, NetResult.ErrorOf(s.Receive(new byte[4])));
    }

    [Fact]
    public void Close_WithUnreadData_ResetsConnection()
    {
        var p = new Pair();
        var (c, s, _) = TcpTestKit.Connect(p);
        c.Send("unread"u8);
        Assert.True(p.Run(() => s.Available == 6));
        s.Close();
        Assert.True(p.Run(() => c.State == TcpState.Closed));
        Assert.Equal(NetError.ConnectionReset, c.PendingError);
    }

    [Fact]
    public void Connect_ToClosedPort_IsRefused()
    {
        var p = new Pair();
        var c = p.A.TcpConnect(Pair.AddrB, 9999, out _)!;
        Assert.True(p.Run(() => c.State == TcpState.Closed));
        Assert.Equal(NetError.ConnectionRefused, c.PendingError);
        Assert.Contains(p.Events, e => e.Socket == c && e.Readiness.HasFlag(Readiness.Error));
    }

    [Fact]
    public void SynFlood_BacklogFull_DropsAndCountsWithBoundedState()
    {
        var r = new RawPeer();
        r.E.TcpListen(Ip4Address.Any, 80, 4, out _);
        for (int i = 0; i < 1000; i++)
        {
            r.PeerPort = (ushort)(20000 + i);
            r.Send(SYN, (uint)i * 1000, 0);
        }
        Assert.Equal(4 + 1, r.E.SocketCount); // the listener and a full backlog
        Assert.Equal(996, r.E.Stats[DropReason.SynBacklogFull]);
        // The embryos time out after their SYN-ACK retransmissions and the listener takes SYNs again.
        r.Net.RunFor(300 * NetLimits.Second);
        Assert.Equal(1, r.E.SocketCount);
    }

    [Fact]
    public void ManyConnections_AtOnce_AllTransfer()
    {
        var p = new Pair(8);
        p.PortA.Capture = p.PortB.Capture = false;
        var l = p.B.TcpListen(Ip4Address.Any, 80, 128, out _, 16384, 16384)!;
        var clients = Enumerable.Range(0, 110).Select(_ => p.A.TcpConnect(Pair.AddrB, 80, out var e, 0, 16384, 16384)!).ToList();
        var servers = new List<TcpSocket>();
        Assert.True(p.Run(() =>
        {
            while (l.Accept() is { } s) servers.Add(s);
            return servers.Count == clients.Count;
        }));
        var pumps = clients.Select((c, i) => new TcpPump(c, servers.Single(s => s.RemotePort == c.LocalPort), 20_000, i)).ToList();
        Assert.True(p.Run(() => pumps.Aggregate(true, (all, x) => x.Step() & all), 60 * NetLimits.Second));
        Assert.All(pumps, x => Assert.True(x.HashesMatch()));
    }
}
