// The timers of a connection, as deadlines in engine time (µs; long.MaxValue = off):
// retransmission (RFC 6298 §5: back off by doubling, go back to SND.UNA, give up after
// NetLimits.MaxRetransmits), persist (zero-window probes with backoff, RFC 9293 §3.8.6.1),
// delayed ACK (RFC 1122 §4.2.3.2) and TIME-WAIT (2·MSL). The engine runs RunTimers when
// NextDeadline has passed.
namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    private long _retransmitAt = long.MaxValue;
    private long _persistAt = long.MaxValue;
    private long _delayedAckAt = long.MaxValue;
    private long _timeWaitAt = long.MaxValue;
    private int _retries;
    private int _persistBackoff;
    private bool _persisting;

    /// <summary>Current retransmission timeout (µs).</summary>
    public long Rto => _rto;
    public int Retries => _retries;

    internal long NextDeadline => Math.Min(Math.Min(_retransmitAt, _persistAt), Math.Min(_delayedAckAt, _timeWaitAt));

    internal void RunTimers()
    {
        long now = Engine.Now;
        if (_timeWaitAt <= now)
        {
            EnterClosed(NetError.None);
            return;
        }
        if (_retransmitAt <= now) RetransmitTimeout();
        if (State == TcpState.Closed) return;
        if (_persistAt <= now) PersistTimeout();
        if (_delayedAckAt <= now)
        {
            _delayedAckAt = long.MaxValue;
            _ackNow = true;
            Output();
        }
        Notify();
    }

    private void RetransmitTimeout()
    {
        _retransmitAt = long.MaxValue;
        bool opening = State is TcpState.SynSent or TcpState.SynReceived;
        if (_retries >= (opening ? NetLimits.MaxSynRetransmits : NetLimits.MaxRetransmits))
        {
            if (!opening) SendRst(_sndNxt);
            EnterClosed(NetError.TimedOut);
            return;
        }
        _retries++;
        Engine.Stats.TcpTimeouts++;
        _rto = Math.Min(_rto * 2, NetLimits.MaxRto); // RFC 6298 (5.5)
        _rtt.Timing = false;                          // Karn: no sample from a retransmitted segment
        if (!opening) OnTimeoutCongestion();
        _sndNxt = opening ? _iss : _sndUna;           // go back N
        _persisting = false;
        Output();
        if (_retransmitAt == long.MaxValue && _persistAt == long.MaxValue && _sndMax != _sndUna) _retransmitAt = Engine.Now + _rto;
    }

    /// <summary>
    /// The driver under this connection was replaced: frames handed to the dead one are gone.
    /// The loss has a known cause that is not congestion, so the window is kept: resend from
    /// SND.UNA now instead of waiting for the RTO, and tell the peer where we are with an ACK
    /// (a receiver's lost data is then resent by the peer's own timers).
    /// </summary>
    internal void LinkRestarted()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.TimeWait) return;
        if (_sndMax != _sndUna && !_persisting)
        {
            _sndNxt = State is TcpState.SynSent or TcpState.SynReceived ? _iss : _sndUna;
            _rtt.Timing = false; // Karn: what follows is a retransmission
            _retransmitAt = long.MaxValue;
        }
        _ackNow = true;
        Output();
        // The peer's segments lost with the dead driver would wait for the peer's RTO (200 ms at
        // least on Linux, and cwnd back to one segment). Three duplicate ACKs make it fast-
        // retransmit instead (RFC 5681 §3.2); a peer with nothing outstanding ignores them.
        if (State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
            for (int i = 0; i < DupAcksAfterRestart; i++) SendAck();
        if (_retransmitAt == long.MaxValue && _persistAt == long.MaxValue && _sndMax != _sndUna) _retransmitAt = Engine.Now + _rto;
        Notify();
    }

    /// <summary>Duplicate ACKs sent after a driver restart: the peer's fast-retransmit threshold.</summary>
    internal const int DupAcksAfterRestart = 3;

    private void PersistTimeout()
    {
        _persistAt = long.MaxValue;
        if (_sndWnd != 0 || !HasUnsentData || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck)) return;
        // One byte past the closed window; the answer's window says whether it opened.
        _persisting = true;
        _sndNxt = _sndUna; // an unanswered probe is repeated, not followed by the next byte
        SendData(_sndNxt, 1, fin: false);
        _sndNxt += 1;
        _sndMax = Seq.Max(_sndMax, _sndNxt);
        if (_persistBackoff < 16) _persistBackoff++;
        _persistAt = Engine.Now + PersistInterval();
    }

    private long PersistInterval() =>
        Math.Clamp(_rto << Math.Min(_persistBackoff, 16), NetLimits.MinPersist, NetLimits.MaxPersist);

    private void StopTimers()
    {
        _retransmitAt = _persistAt = _delayedAckAt = _timeWaitAt = long.MaxValue;
        _persisting = false;
    }
}
