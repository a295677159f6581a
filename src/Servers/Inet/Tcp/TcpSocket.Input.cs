// "Segment arrives" (RFC 9293 §3.10.7) for a listener, SYN-SENT and the synchronized states,
// with the RFC 5961 rules for RST (exact match resets, in-window gets a challenge ACK) and for
// SYN in a synchronized state (challenge ACK), and RFC 7323 PAWS. The order of checks follows
// the RFC: sequence acceptability, RST, SYN, ACK, data, FIN.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    internal void StartListen(Ip4Address address, ushort port, int backlog)
    {
        LocalAddress = address;
        LocalPort = port;
        _backlog = backlog;
        State = TcpState.Listen;
    }

    internal void StartConnect(Ip4Address local, ushort localPort, Ip4Address remote, ushort remotePort, int mtu, uint iss)
    {
        LocalAddress = local;
        LocalPort = localPort;
        RemoteAddress = remote;
        RemotePort = remotePort;
        _mtu = mtu;
        InitSendSpace(iss);
        State = TcpState.SynSent;
        Output();
        Notify();
    }

    private void InitSendSpace(uint iss)
    {
        _send = new ByteRing(_sendCapacity);
        _recv = new ByteRing(_recvCapacity);
        _iss = iss;
        _sndUna = _sndNxt = _sndMax = iss;
        _sndBase = iss + 1;
        _tsOffset = Engine.NewTimestampOffset();
        InitCongestion();
    }

    /// <summary>Options of the peer's SYN: MSS, window scale, timestamps and SACK (RFC 7323 §1.3, RFC 2018 §2: both sides must offer).</summary>
    private void TakeSynOptions(ref TcpSegment seg, bool weOffered)
    {
        if (seg.Mss > 0) _peerMss = Math.Max(seg.Mss, 64);
        _windowScaling = weOffered && seg.WindowScale >= 0;
        _sndScale = _windowScaling ? seg.WindowScale : 0;
        if (!_windowScaling) _rcvScale = 0;
        _timestamps = weOffered && seg.HasTimestamp;
        if (_timestamps) _tsRecent = seg.TsVal;
        _sack = weOffered && seg.SackPermitted;
        InitCongestion();
    }

    internal void ListenerSegmentArrives(ref TcpSegment seg, Ip4Address local, Ip4Address remote, int mtu)
    {
        if (seg.Has(TcpFlags.Rst)) return;
        if (seg.Has(TcpFlags.Ack))
        {
            Engine.Stats.Drop(DropReason.NoTcpListener);
            Engine.TcpSendBare(local, LocalPort, remote, seg.SourcePort, seg.Ack, 0, TcpFlags.Rst);
            return;
        }
        if (!seg.Has(TcpFlags.Syn))
        {
            Engine.Stats.Drop(DropReason.MalformedTcp);
            return;
        }
        if (_embryonic + _acceptQueue.Count >= _backlog)
        {
            Engine.Stats.Drop(DropReason.SynBacklogFull);
            return;
        }
        var child = Engine.TcpAcceptSyn(this, local, remote, seg.SourcePort);
        if (child == null) return;
        _embryonic++;
        child._listener = this;
        child.LocalAddress = local;
        child.LocalPort = LocalPort;
        child.RemoteAddress = remote;
        child.RemotePort = seg.SourcePort;
        child._mtu = mtu;
        child.InitSendSpace(Engine.TcpNewIss());
        child._irs = seg.Seq;
        child._rcvNxt = seg.Seq + 1;
        child._rcvAdv = child._rcvNxt;
        child._sndWnd = seg.Window; // never scaled in a SYN (RFC 7323 §2.2)
        child._sndWl1 = seg.Seq;
        child._sndWl2 = 0;
        child.TakeSynOptions(ref seg, weOffered: true);
        child.State = TcpState.SynReceived;
        child.Output();
    }

    internal void SegmentArrives(ref TcpSegment seg)
    {
        if (State == TcpState.SynSent) SynSentArrives(ref seg);
        else SynchronizedArrives(ref seg);
        _listener?.Notify();
        Notify();
    }

    private void SynSentArrives(ref TcpSegment seg)
    {
        bool ackOk = false;
        if (seg.Has(TcpFlags.Ack))
        {
            if (Seq.Le(seg.Ack, _iss) || Seq.Gt(seg.Ack, _sndMax))
            {
                if (!seg.Has(TcpFlags.Rst)) Engine.TcpSendBare(LocalAddress, LocalPort, RemoteAddress, RemotePort, seg.Ack, 0, TcpFlags.Rst);
                Engine.Stats.Drop(DropReason.BadAck);
                return;
            }
            ackOk = true;
        }
        if (seg.Has(TcpFlags.Rst))
        {
            if (ackOk) EnterClosed(NetError.ConnectionRefused);
            return;
        }
        if (!seg.Has(TcpFlags.Syn)) return;
        _irs = seg.Seq;
        _rcvNxt = seg.Seq + 1;
        _rcvAdv = _rcvNxt;
        TakeSynOptions(ref seg, weOffered: true);
        _sndWnd = seg.Window;
        _sndWl1 = seg.Seq;
        _sndWl2 = seg.Ack;
        _maxSndWnd = _sndWnd;
        if (ackOk)
        {
            _sndUna = seg.Ack;
            if (_rtt.Timing && Seq.Gt(seg.Ack, _rtt.TimedSeq)) SampleRtt();
            _retries = 0;
            _retransmitAt = long.MaxValue;
            State = TcpState.Established;
            if (_finQueued) State = TcpState.FinWait1;
            _ackNow = true;
            Output();
            return;
        }
        // Simultaneous open (RFC 9293 Figure 7): SYN-RECEIVED, resend our SYN with an ACK.
        State = TcpState.SynReceived;
        _sndNxt = _iss;
        Output();
    }

    private void SynchronizedArrives(ref TcpSegment seg)
    {
        // Our SYN-ACK was lost and the peer repeats its SYN: repeat the SYN-ACK.
        if (State == TcpState.SynReceived && seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack) && seg.Seq == _irs)
        {
            _sndNxt = _iss;
            Output();
            return;
        }
        // PAWS (RFC 7323 §5.3): a timestamp older than the last one marks an old duplicate.
        if (_timestamps && seg.HasTimestamp && !seg.Has(TcpFlags.Rst) && Seq.Lt(seg.TsVal, _tsRecent))
        {
            Engine.Stats.Drop(DropReason.PawsRejected);
            SendAck();
            return;
        }
        if (!Acceptable(ref seg))
        {
            Engine.Stats.Drop(DropReason.OutOfWindow);
            if (!seg.Has(TcpFlags.Rst)) SendAck();
            return;
        }
        if (seg.Has(TcpFlags.Rst))
        {
            if (seg.Seq != _rcvNxt)
            {
                Engine.Stats.Drop(DropReason.RstChallenged); // RFC 5961 §3.2
                SendAck();
                return;
            }
            ResetArrives();
            return;
        }
        if (seg.Has(TcpFlags.Syn))
        {
            Engine.Stats.Drop(DropReason.RstChallenged); // RFC 5961 §4: challenge ACK for any SYN
            SendAck();
            return;
        }
        if (!seg.Has(TcpFlags.Ack)) return;
        if (_timestamps && seg.HasTimestamp && Seq.Le(seg.Seq, _rcvNxt)) _tsRecent = seg.TsVal;

        if (State == TcpState.SynReceived)
        {
            if (Seq.Le(seg.Ack, _sndUna) || Seq.Gt(seg.Ack, _sndMax))
            {
                Engine.TcpSendBare(LocalAddress, LocalPort, RemoteAddress, RemotePort, seg.Ack, 0, TcpFlags.Rst);
                return;
            }
            State = _finQueued ? TcpState.FinWait1 : TcpState.Established;
            _sndWnd = (uint)seg.Window << _sndScale;
            _maxSndWnd = _sndWnd;
            _sndWl1 = seg.Seq;
            _sndWl2 = seg.Ack;
            if (_listener != null)
            {
                _listener._embryonic--;
                if (!_listener._userClosed) _listener._acceptQueue.Enqueue(this);
            }
        }
        if (!AckArrives(ref seg)) return;

        // FIN acknowledged?
        bool finAcked = _finQueued && _sndUna == FinSeq + 1;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked: State = TcpState.FinWait2; break;
            case TcpState.Closing when finAcked: EnterTimeWait(); break;
            case TcpState.LastAck when finAcked:
                EnterClosed(NetError.None);
                return;
        }

        if (seg.Payload.Length > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
            DataArrives(seg.Seq, seg.Payload, seg.Has(TcpFlags.Fin));
        else if (seg.Has(TcpFlags.Fin) && seg.Seq + (uint)seg.Payload.Length == _rcvNxt)
            FinArrives();
        else if (seg.Has(TcpFlags.Fin) && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
            DataArrives(seg.Seq, seg.Payload, fin: true);
        Output();
    }

    /// <summary>RFC 9293 §3.10.7.4, first check: does the segment overlap the receive window?</summary>
    private bool Acceptable(ref TcpSegment seg)
    {
        uint wnd = Seq.Gt(_rcvAdv, _rcvNxt) ? _rcvAdv - _rcvNxt : 0;
        int len = seg.Length;
        if (len == 0)
            return wnd == 0 ? seg.Seq == _rcvNxt : InWindow(seg.Seq, wnd);
        if (wnd == 0) return false;
        return InWindow(seg.Seq, wnd) || InWindow(seg.Seq + (uint)len - 1, wnd);
    }

    private bool InWindow(uint s, uint wnd) => Seq.Le(_rcvNxt, s) && Seq.Lt(s, _rcvNxt + wnd);

    private void ResetArrives()
    {
        switch (State)
        {
            case TcpState.SynReceived when _listener != null:
                EnterClosed(NetError.None); // passive open: the listener carries on
                break;
            case TcpState.SynReceived:
                EnterClosed(NetError.ConnectionRefused);
                break;
            case TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait:
                EnterClosed(NetError.ConnectionReset);
                break;
            default:
                EnterClosed(NetError.None); // CLOSING, LAST-ACK, TIME-WAIT
                break;
        }
    }

    /// <summary>Processes the ACK field (RFC 9293 §3.10.7.4, fifth check); false if the segment must be dropped.</summary>
    private bool AckArrives(ref TcpSegment seg)
    {
        uint ack = seg.Ack;
        if (Seq.Gt(ack, _sndMax))
        {
            Engine.Stats.Drop(DropReason.BadAck);
            SendAck();
            return false;
        }
        if (Seq.Lt(ack, _sndUna - Math.Max(_maxSndWnd, 65535u)))
        {
            Engine.Stats.Drop(DropReason.BadAck); // RFC 5961 §5: too old to be from this connection
            SendAck();
            return false;
        }
        uint window = (uint)seg.Window << _sndScale;
        if (Seq.Gt(ack, _sndUna))
        {
            NewAck(ack);
        }
        else if (ack == _sndUna && seg.Payload.Length == 0 && !seg.Has(TcpFlags.Fin) && window == _sndWnd && _sndMax != _sndUna)
        {
            DuplicateAck();
        }
        // Window update (SND.WL1/WL2 rule).
        if (Seq.Lt(_sndWl1, seg.Seq) || (_sndWl1 == seg.Seq && Seq.Le(_sndWl2, ack)))
        {
            _sndWnd = window;
            _sndWl1 = seg.Seq;
            _sndWl2 = ack;
            if (window > _maxSndWnd) _maxSndWnd = window;
            if (window > 0)
            {
                _persistAt = long.MaxValue;
                _persistBackoff = 0;
                if (_persisting)
                {
                    _persisting = false;
                    _sndNxt = _sndUna; // the window opened: send from the first unacknowledged byte
                }
            }
            else if (_persisting)
            {
                _sndNxt = _sndUna; // the probe byte was refused: keep probing
            }
        }
        return true;
    }

    /// <summary>Acknowledges sequence space up to <paramref name="ack"/>: frees the ring, updates RTT and congestion state.</summary>
    private void NewAck(uint ack)
    {
        uint acked = ack - _sndUna;
        if (_rtt.Timing && Seq.Gt(ack, _rtt.TimedSeq)) SampleRtt();
        // Bytes of data acknowledged: the sequence space past SndBase, without the FIN.
        if (_send != null && Seq.Gt(ack, _sndBase))
        {
            int data = (int)Math.Min(ack - _sndBase, (uint)_send.Count);
            _send.Discard(data);
            _sndBase += (uint)data;
        }
        _sndUna = ack;
        if (Seq.Lt(_sndNxt, _sndUna)) _sndNxt = _sndUna;
        _retries = 0;
        _persisting = false;
        OnNewAck(acked);
        _retransmitAt = _sndUna == _sndMax ? long.MaxValue : Engine.Now + _rto;
    }

    /// <summary>In-order or out-of-order data (and maybe a FIN) for the receive buffer.</summary>
    private void DataArrives(uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        if (_recv == null) return;
        if (Seq.Lt(seq, _rcvNxt))
        {
            uint skip = _rcvNxt - seq;
            if (skip > (uint)data.Length) return;
            data = data[(int)skip..];
            seq = _rcvNxt;
        }
        // Trim to the space we have (the advertised window may not be exceeded).
        if (data.Length > _recv.Free)
        {
            data = data[.._recv.Free];
            fin = false;
        }
        if (seq != _rcvNxt)
        {
            InsertOutOfOrder(seq, data, fin);
            _ackNow = true; // RFC 5681 §4.2: an out-of-order segment is acknowledged at once
            return;
        }
        bool filledHole = HasOutOfOrder;
        _recv.Write(data);
        _rcvNxt += (uint)data.Length;
        if (fin) FinArrives();
        else DrainOutOfOrder();
        if (filledHole) _ackNow = true;
        else if (data.Length > 0) DelayAck();
    }

    /// <summary>The peer's FIN, in order (RFC 9293 §3.10.7.4, eighth check).</summary>
    private void FinArrives()
    {
        if (_finReceived && State != TcpState.TimeWait) return;
        if (!_finReceived) _rcvNxt++;
        _finReceived = true;
        _ackNow = true;
        switch (State)
        {
            case TcpState.SynReceived or TcpState.Established: State = TcpState.CloseWait; break;
            case TcpState.FinWait1:
                if (_sndUna == FinSeq + 1) EnterTimeWait();
                else State = TcpState.Closing; // simultaneous close (RFC 9293 Figure 13)
                break;
            case TcpState.FinWait2: EnterTimeWait(); break;
            case TcpState.TimeWait: _timeWaitAt = Engine.Now + NetLimits.TimeWait; break;
        }
    }

    private void EnterTimeWait()
    {
        State = TcpState.TimeWait;
        StopTimers();
        _timeWaitAt = Engine.Now + NetLimits.TimeWait;
        _send?.Release();
        _send = null;
        ClearOutOfOrder();
        Engine.TcpEnteredTimeWait(this);
    }

    internal long TimeWaitEnds => _timeWaitAt;
    internal uint RcvNxt => _rcvNxt;

    /// <summary>Ends TIME-WAIT early: the table of them is full, or a new SYN reopens the four-tuple.</summary>
    internal void EndTimeWait() => EnterClosed(NetError.None);

    internal void IcmpUnreachable(byte code)
    {
        // RFC 1122 §4.2.3.9: protocol and port unreachable are hard errors; others are soft.
        if (State == TcpState.SynSent && code is IcmpType.ProtocolUnreachable or IcmpType.PortUnreachable)
            EnterClosed(NetError.ConnectionRefused);
    }
}
