// RTT estimation and congestion control of a connection. RTO per RFC 6298 from one timed
// segment per window (Karn: never one that was retransmitted), bounded by NetLimits.MinRto
// and MaxRto. Congestion control per RFC 5681: initial window (RFC 5681 §3.1), slow start,
// congestion avoidance, fast retransmit on the third duplicate ACK and fast recovery with
// NewReno partial-ACK handling (RFC 6582) so several losses in one window cost one recovery.
namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    private struct RttTimer
    {
        public bool Timing;
        public uint TimedSeq;
        public long TimedAt;
    }

    private const uint MaxCwnd = 1u << 30;
    private RttTimer _rtt;
    private long _srtt, _rttvar;
    private bool _haveRtt;
    private long _rto = NetLimits.InitialRto;
    private uint _cwnd, _ssthresh;
    private int _dupAcks;
    private bool _inRecovery;
    private uint _recover;

    public uint CongestionWindow => _cwnd;
    public uint SlowStartThreshold => _ssthresh;
    /// <summary>Smoothed RTT (µs), or -1 before the first sample.</summary>
    public long SmoothedRtt => _haveRtt ? _srtt : -1;
    public bool InFastRecovery => _inRecovery;

    private uint FlightSize => _sndMax - _sndUna;

    private void InitCongestion()
    {
        uint mss = (uint)SendMss;
        _cwnd = Math.Min(4 * mss, Math.Max(2 * mss, 4380)); // RFC 5681 §3.1 (3)
        _ssthresh = MaxCwnd;
        _recover = _iss;
        _dupAcks = 0;
        _inRecovery = false;
    }

    private void StartTiming(uint seq) => _rtt = new RttTimer { Timing = true, TimedSeq = seq, TimedAt = Engine.Now };

    private void SampleRtt()
    {
        long r = Math.Max(0, Engine.Now - _rtt.TimedAt);
        _rtt.Timing = false;
        if (!_haveRtt)
        {
            _srtt = r;
            _rttvar = r / 2;
            _haveRtt = true;
        }
        else
        {
            _rttvar = (3 * _rttvar / 4) + (Math.Abs(_srtt - r) / 4);
            _srtt = (7 * _srtt / 8) + (r / 8);
        }
        _rto = Math.Clamp(_srtt + Math.Max(NetLimits.Millisecond, 4 * _rttvar), NetLimits.MinRto, NetLimits.MaxRto);
    }

    private void OnNewAck(uint acked)
    {
        uint mss = (uint)SendMss;
        if (_inRecovery)
        {
            if (Seq.Ge(_sndUna, _recover))
            {
                _cwnd = Math.Min(_ssthresh, FlightSize + mss); // RFC 6582 §3.2 (3), full acknowledgment
                _inRecovery = false;
            }
            else
            {
                RetransmitFirst();                              // partial acknowledgment
                _cwnd = (_cwnd > acked ? _cwnd - acked : 0) + mss;
            }
        }
        else if (_cwnd < _ssthresh)
        {
            _cwnd = Math.Min(MaxCwnd, _cwnd + Math.Min(acked, mss));     // slow start
        }
        else
        {
            _cwnd = Math.Min(MaxCwnd, _cwnd + Math.Max(1, mss * mss / _cwnd)); // congestion avoidance
        }
        _dupAcks = 0;
        // Growth past what the peer's window allows measures nothing (RFC 7661's idea, simply).
        _cwnd = Math.Min(_cwnd, Math.Max(2 * _maxSndWnd, 4 * mss));
    }

    private void DuplicateAck()
    {
        if (_sndWnd == 0 || _persisting) return; // window probes' answers are not losses
        _dupAcks++;
        uint mss = (uint)SendMss;
        if (_dupAcks == 3 && !_inRecovery && Seq.Gt(_sndUna, _recover))
        {
            _ssthresh = Math.Max(FlightSize / 2, 2 * mss); // RFC 5681 (4)
            _recover = _sndMax;
            _inRecovery = true;
            RetransmitFirst();
            Engine.Stats.TcpFastRetransmits++;
            _cwnd = _ssthresh + (3 * mss);
        }
        else if (_inRecovery && _dupAcks > 3)
        {
            _cwnd = Math.Min(MaxCwnd, _cwnd + mss); // each further duplicate: one segment left the network
        }
    }

    private void OnTimeoutCongestion()
    {
        uint mss = (uint)SendMss;
        _ssthresh = Math.Max(FlightSize / 2, 2 * mss);
        _cwnd = mss; // loss window (RFC 5681 §3.1)
        _inRecovery = false;
        _dupAcks = 0;
        _recover = _sndMax;
    }

    /// <summary>Resends the first unacknowledged segment (fast retransmit, partial ACK).</summary>
    private void RetransmitFirst()
    {
        if (_send == null) return;
        int len = Math.Min(SendMss, _send.Count - (int)(_sndUna - _sndBase));
        if (len < 0) return;
        bool fin = _finQueued && _sndUna + (uint)len == FinSeq && Seq.Gt(_sndMax, FinSeq);
        if (len == 0 && !fin) return;
        SendData(_sndUna, len, fin);
        _rtt.Timing = false;
        Engine.Stats.TcpRetransmits++;
        _retransmitAt = Engine.Now + _rto;
    }
}
