// What a connection sends (RFC 9293 §3.8.6, RFC 1122 §4.2.3): SYN and SYN-ACK with the MSS,
// window-scale and timestamp options; data within min(send window, congestion window) with
// Nagle's algorithm and sender-side silly-window avoidance; the FIN after the last byte;
// pure ACKs (immediate or delayed, at least every second full segment); RST. The advertised
// receive window follows receiver-side silly-window avoidance and never shrinks.
using System.Buffers.Binary;

namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    private bool _ackNow;
    private int _unackedSegments;

    /// <summary>Sequence number of our FIN: right after the last byte in the send ring.</summary>
    private uint FinSeq => _sndBase + (uint)(_send?.Count ?? 0);

    private bool HasUnsentData => _send != null && (int)(_sndNxt - _sndBase) < _send.Count;

    /// <summary>Sends whatever the windows, Nagle and the state allow, and a pending ACK.</summary>
    internal void Output()
    {
        switch (State)
        {
            case TcpState.Closed or TcpState.Listen:
                return;
            case TcpState.SynSent or TcpState.SynReceived:
                if (_sndNxt == _iss) SendSyn();
                else if (_ackNow) SendAck();
                return;
            case TcpState.TimeWait:
                if (_ackNow) SendAck();
                return;
        }
        bool sent = false;
        int mss = SendMss;
        while (_send != null)
        {
            int total = _send.Count;
            int offset = (int)(_sndNxt - _sndBase);
            if (offset > total) break; // the FIN is out
            int avail = total - offset;
            uint window = Math.Min(_sndWnd, _cwnd);
            uint inFlight = _sndNxt - _sndUna;
            int usable = window > inFlight ? (int)Math.Min(window - inFlight, int.MaxValue) : 0;
            int len = Math.Min(Math.Min(avail, mss), usable);
            bool fin = _finQueued && offset + len == total;
            if (len == 0 && !fin) break;
            if (len < mss && len < avail && inFlight > 0 && len < _maxSndWnd / 2) break;      // sender SWS avoidance
            if (len == avail && len < mss && !fin && !NoDelay && inFlight > 0) break;        // Nagle
            if (_persisting && inFlight > 0) break;                                          // a probe is out
            if (!_rtt.Timing && len > 0 && Seq.Ge(_sndNxt, _sndMax)) StartTiming(_sndNxt);  // Karn: time new data only
            bool retransmission = Seq.Lt(_sndNxt, _sndMax);
            SendData(_sndNxt, len, fin);
            if (retransmission) Engine.Stats.TcpRetransmits++;
            _sndNxt += (uint)len + (fin ? 1u : 0u);
            _sndMax = Seq.Max(_sndMax, _sndNxt);
            if (_retransmitAt == long.MaxValue) _retransmitAt = Engine.Now + _rto;
            _persistAt = long.MaxValue;
            sent = true;
        }
        if (_sndWnd == 0 && _sndNxt == _sndUna && HasUnsentData && _persistAt == long.MaxValue)
        {
            // RFC 9293 §3.8.6.1: the peer's window is shut and nothing is in flight to reopen it.
            _retransmitAt = long.MaxValue;
            _persistAt = Engine.Now + PersistInterval();
        }
        if (!sent && _ackNow) SendAck();
    }

    /// <summary>Sends <paramref name="len"/> bytes of the send ring starting at <paramref name="seq"/>, and FIN if asked.</summary>
    private void SendData(uint seq, int len, bool fin)
    {
        int tsLen = _timestamps ? 12 : 0;
        // SACK blocks ride on data only where they fit beside a full segment (SendMss leaves them no room).
        int sackLen = SackOptionLength(Math.Min(40 - tsLen, _mtu - 40 - tsLen - len));
        int header = TcpSegment.Header + tsLen + sackLen;
        var s = Engine.TcpBuffer(header + len);
        var flags = TcpFlags.Ack | (fin ? TcpFlags.Fin : 0) | (len > 0 && (int)(seq - _sndBase) + len == _send!.Count ? TcpFlags.Psh : 0);
        NetEngine.WriteTcpHeader(s, LocalPort, RemotePort, seq, _rcvNxt, flags, WindowField(), header);
        if (_timestamps) WriteTimestamp(s[TcpSegment.Header..]);
        if (sackLen > 0) WriteSack(s[(TcpSegment.Header + tsLen)..], sackLen);
        if (len > 0) _send!.Peek((int)(seq - _sndBase), s.Slice(header, len));
        Engine.TcpTransmit(LocalAddress, RemoteAddress, header + len);
        AckSent();
    }

    private void SendSyn()
    {
        bool synAck = State == TcpState.SynReceived;
        bool offerScale = !synAck || _windowScaling;
        bool offerTs = !synAck || _timestamps;
        bool offerSack = !synAck || _sack;
        int optLen = 4 + (offerScale ? 4 : 0) + (offerTs ? 12 : 0) + (offerSack && !offerTs ? 4 : 0);
        int header = TcpSegment.Header + optLen;
        var s = Engine.TcpBuffer(header);
        ushort window = (ushort)Math.Min(_recv?.Free ?? 0, 65535); // a SYN's window is never scaled
        NetEngine.WriteTcpHeader(s, LocalPort, RemotePort, _iss, synAck ? _rcvNxt : 0, TcpFlags.Syn | (synAck ? TcpFlags.Ack : 0), window, header);
        var o = s[TcpSegment.Header..];
        o[0] = 2; // MSS
        o[1] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], (ushort)(_mtu - 40));
        o = o[4..];
        if (offerScale)
        {
            o[0] = 1;
            o[1] = 3; // window scale
            o[2] = 3;
            o[3] = (byte)_rcvScale;
            o = o[4..];
        }
        if (offerTs) WriteTimestamp(o);
        if (offerSack && offerTs)
        {
            o[0] = 4; // SACK permitted in place of the timestamps' two NOPs
            o[1] = 2;
        }
        else if (offerSack)
        {
            o[0] = 1;
            o[1] = 1;
            o[2] = 4;
            o[3] = 2;
        }
        if (_retries == 0 && !_rtt.Timing) StartTiming(_iss);
        Engine.TcpTransmit(LocalAddress, RemoteAddress, header);
        _rcvAdv = Seq.Max(_rcvAdv, _rcvNxt + window);
        _sndNxt = _iss + 1;
        _sndMax = Seq.Max(_sndMax, _sndNxt);
        if (_retransmitAt == long.MaxValue) _retransmitAt = Engine.Now + _rto;
        AckSent();
    }

    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) return;
        int tsLen = _timestamps ? 12 : 0;
        int sackLen = SackOptionLength(40 - tsLen);
        int header = TcpSegment.Header + tsLen + sackLen;
        var s = Engine.TcpBuffer(header);
        NetEngine.WriteTcpHeader(s, LocalPort, RemotePort, _sndNxt, _rcvNxt, TcpFlags.Ack, WindowField(), header);
        if (_timestamps) WriteTimestamp(s[TcpSegment.Header..]);
        if (sackLen > 0) WriteSack(s[(TcpSegment.Header + tsLen)..], sackLen);
        Engine.TcpTransmit(LocalAddress, RemoteAddress, header);
        AckSent();
    }

    private void SendRst(uint seq) =>
        Engine.TcpSendBare(LocalAddress, LocalPort, RemoteAddress, RemotePort, seq, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);

    /// <summary>NOP, NOP, timestamps (RFC 7323 Appendix A layout): TSval from the engine clock in ms.</summary>
    private void WriteTimestamp(Span<byte> o)
    {
        o[0] = 1;
        o[1] = 1;
        o[2] = 8;
        o[3] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(o[4..], (uint)(Engine.Now / NetLimits.Millisecond) + _tsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(o[8..], _tsRecent);
    }

    private void AckSent()
    {
        _ackNow = false;
        _unackedSegments = 0;
        _delayedAckAt = long.MaxValue;
    }

    /// <summary>RFC 1122 §4.2.3.2: ACK at least every second full segment, and within NetLimits.DelayedAck.</summary>
    private void DelayAck()
    {
        if (++_unackedSegments >= 2) _ackNow = true;
        else if (_delayedAckAt == long.MaxValue) _delayedAckAt = Engine.Now + NetLimits.DelayedAck;
    }

    /// <summary>The window to advertise, in bytes, by receiver-side SWS avoidance (RFC 1122 §4.2.3.3).</summary>
    private uint ReceiveWindow()
    {
        uint free = (uint)(_recv?.Free ?? 0);
        uint current = Seq.Gt(_rcvAdv, _rcvNxt) ? _rcvAdv - _rcvNxt : 0;
        uint step = (uint)Math.Min(_recvCapacity / 2, _mtu - 40);
        uint wnd = free >= current + step ? free : current;
        return Math.Min(wnd, 65535u << _rcvScale);
    }

    private ushort WindowField()
    {
        uint wnd = ReceiveWindow();
        ushort field = (ushort)(wnd >> _rcvScale);
        _rcvAdv = Seq.Max(_rcvAdv, _rcvNxt + ((uint)field << _rcvScale));
        return field;
    }

    /// <summary>After the program read: tell the peer if the window opened by enough to matter.</summary>
    private void MaybeWindowUpdate()
    {
        if (State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)) return;
        uint current = Seq.Gt(_rcvAdv, _rcvNxt) ? _rcvAdv - _rcvNxt : 0;
        uint open = ReceiveWindow();
        if (open > current && (open - current >= (uint)(2 * (_mtu - 40)) || open - current >= (uint)_recvCapacity / 2))
        {
            _ackNow = true;
            Output();
        }
    }
}
