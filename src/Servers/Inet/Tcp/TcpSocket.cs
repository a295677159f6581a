// A TCP socket: a listener or one connection (RFC 9293). This file holds the state and the
// non-blocking calls a program makes through the server — Accept, Send, Receive, Shutdown,
// Close, Abort — each returning at once (a count, WouldBlock, or another NetError, see
// NetResult). The protocol lives in the other parts: TcpSocket.Input.cs (segment arrives),
// TcpSocket.Output.cs (what to send), TcpSocket.Timers.cs (retransmission, persist, delayed ACK,
// TIME-WAIT) and TcpSocket.Congestion.cs (RTT estimation and congestion control).
// Rules: sequence numbers are compared only with Seq; the send ring holds the bytes from SndBase
// (the first unacknowledged data byte) on, so SYN and FIN occupy sequence space but no ring
// space; every change a program could wait for ends with Notify().
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket : NetSocket
{
    // Identity
    public TcpState State { get; private set; }
    public Ip4Address LocalAddress { get; internal set; }
    public ushort LocalPort { get; internal set; }
    public Ip4Address RemoteAddress { get; internal set; }
    public ushort RemotePort { get; internal set; }

    // Listener side
    private readonly Queue<TcpSocket> _acceptQueue = new();
    private int _backlog;
    private int _embryonic;          // children in SYN-RECEIVED
    private TcpSocket? _listener;    // the listener a child came from, until accepted

    // Buffers (null for a listener and after the connection ended)
    private ByteRing? _send;
    private ByteRing? _recv;
    private readonly int _sendCapacity;
    private readonly int _recvCapacity;

    // Send sequence space (RFC 9293 §3.3.1)
    private uint _iss, _sndUna, _sndNxt, _sndMax, _sndWnd, _sndWl1, _sndWl2, _sndBase, _maxSndWnd;
    // Receive sequence space
    private uint _irs, _rcvNxt, _rcvAdv;
    private bool _finQueued, _finReceived, _userClosed;

    // Options (RFC 7323, RFC 9293 §3.7.1)
    private int _sndScale, _rcvScale;
    private bool _windowScaling, _timestamps;
    /// <summary>Both SYNs offered SACK (RFC 2018): ACKs carry the out-of-order ranges.</summary>
    private bool _sack;
    private uint _tsRecent, _tsOffset;
    private int _peerMss = NetLimits.DefaultMss;
    private int _mtu = NetLimits.DefaultMtu;

    internal TcpSocket(NetEngine engine, int id, int sendBuffer, int receiveBuffer) : base(engine, id)
    {
        _sendCapacity = sendBuffer;
        _recvCapacity = receiveBuffer;
        _rcvScale = 0;
        while (_rcvScale < 14 && (65535 << _rcvScale) < receiveBuffer) _rcvScale++;
    }

    /// <summary>Disables Nagle's algorithm (RFC 1122 §4.2.3.4): small segments leave at once.</summary>
    public bool NoDelay { get; set; }
    /// <summary>Bytes waiting to be read.</summary>
    public int Available => _recv?.Count ?? 0;
    /// <summary>Bytes written but not yet acknowledged by the peer.</summary>
    public int Unacknowledged => _send?.Count ?? 0;
    /// <summary>Bytes Send would take now (0 before the buffers exist or after shutdown).</summary>
    public int SendSpace => _userClosed || _finQueued ? 0 : _send?.Free ?? 0;
    public int SendBufferSize => _sendCapacity;
    public int ReceiveBufferSize => _recvCapacity;
    /// <summary>The effective send MSS (payload bytes per segment).</summary>
    public int SendMss => Math.Max(1, Math.Min(_peerMss, _mtu - 40) - (_timestamps ? 12 : 0));
    public bool WindowScaling => _windowScaling;
    public bool Timestamps => _timestamps;
    public int PendingConnections => _acceptQueue.Count;
    internal bool UserClosed => _userClosed;
    /// <summary>The listener this connection came from, until a program accepted it.</summary>
    internal TcpSocket? Listener => _listener;

    /// <summary>An established connection from the accept queue, or null (check Readiness).</summary>
    public TcpSocket? Accept()
    {
        if (State != TcpState.Listen || !_acceptQueue.TryDequeue(out var child)) return null;
        child._listener = null;
        Notify();
        return child;
    }

    /// <summary>Queues bytes to send; the count taken (maybe fewer than offered), or a negative NetError.</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (PendingError != NetError.None && State == TcpState.Closed) return NetResult.Of(PendingError);
        if (_userClosed || _finQueued) return NetResult.Of(NetError.Shutdown);
        if (State is not (TcpState.SynSent or TcpState.SynReceived or TcpState.Established or TcpState.CloseWait) || _send == null)
            return NetResult.Of(NetError.NotConnected);
        if (data.IsEmpty) return 0;
        int n = _send.Write(data);
        if (n == 0) return NetResult.Of(NetError.WouldBlock);
        Output();
        Notify();
        return n;
    }

    /// <summary>Reads received bytes; 0 at end of stream, or a negative NetError (WouldBlock when none wait).</summary>
    public int Receive(Span<byte> into)
    {
        if (_recv is { Count: > 0 })
        {
            int n = _recv.Read(into);
            MaybeWindowUpdate();
            Notify();
            return n;
        }
        if (_finReceived) return 0;
        if (PendingError != NetError.None) return NetResult.Of(PendingError);
        if (State is TcpState.Closed or TcpState.Listen) return NetResult.Of(NetError.NotConnected);
        return into.IsEmpty ? 0 : NetResult.Of(NetError.WouldBlock);
    }

    /// <summary>Ends the sending direction: a FIN follows the queued data.</summary>
    public int Shutdown()
    {
        switch (State)
        {
            case TcpState.SynSent when _send is { Count: > 0 }:
                _finQueued = true; // data waits for the handshake, and the FIN after it
                Notify();
                return 0;
            case TcpState.SynSent:
                EnterClosed(NetError.None);
                return 0;
            case TcpState.SynReceived or TcpState.Established or TcpState.CloseWait:
                if (!_finQueued)
                {
                    _finQueued = true;
                    if (State == TcpState.Established) State = TcpState.FinWait1;
                    else if (State == TcpState.CloseWait) State = TcpState.LastAck;
                    Output();
                }
                Notify();
                return 0;
            case TcpState.Listen or TcpState.Closed:
                return NetResult.Of(NetError.NotConnected);
            default:
                return 0; // already shut down
        }
    }

    /// <summary>
    /// The program is done with the socket. Unread data makes it an abort (RST, RFC 2525 §2.17);
    /// otherwise the connection closes gracefully on its own and the id is released when it ends.
    /// </summary>
    public void Close()
    {
        if (_userClosed) return;
        _userClosed = true;
        if (State == TcpState.Listen)
        {
            Engine.TcpCloseListener(this);
            while (_acceptQueue.TryDequeue(out var c)) c.Abort();
            EnterClosed(NetError.None);
            return;
        }
        if (_recv is { Count: > 0 })
        {
            Abort();
            return;
        }
        if (State is TcpState.Closed or TcpState.SynSent)
        {
            EnterClosed(NetError.None);
            return;
        }
        if (State == TcpState.TimeWait)
        {
            Engine.TcpEnteredTimeWait(this); // nothing left for the program: the id is free now
            Notify();
            return;
        }
        Shutdown();
        Notify();
    }

    /// <summary>Drops the connection at once, telling the peer with a RST if it is synchronized.</summary>
    public void Abort()
    {
        // A listener closes as Close does (which frees its port); Close does nothing once
        // _userClosed is set, so it must run first.
        if (State == TcpState.Listen)
        {
            Close();
            return;
        }
        _userClosed = true;
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
            SendRst(_sndNxt);
        EnterClosed(NetError.None);
    }

    protected override Readiness ComputeReadiness()
    {
        if (State is TcpState.Closed or TcpState.TimeWait && _userClosed) return Readiness.Closed;
        var r = Readiness.None;
        if (PendingError != NetError.None) r |= Readiness.Error | Readiness.Readable;
        if (State == TcpState.Listen)
            return _acceptQueue.Count > 0 ? r | Readiness.Readable : r;
        if (_recv is { Count: > 0 } || _finReceived || State == TcpState.Closed) r |= Readiness.Readable;
        if (State is TcpState.Established or TcpState.CloseWait && !_finQueued && _send is { Free: > 0 }) r |= Readiness.Writable;
        return r;
    }

    /// <summary>Moves to CLOSED: buffers go back to the pool, timers stop, the engine forgets the connection.</summary>
    private void EnterClosed(NetError error)
    {
        var was = State;
        State = TcpState.Closed;
        if (error != NetError.None) PendingError = error;
        StopTimers();
        FreeBuffers();
        if (_listener != null)
        {
            // Never handed to a program: nobody will close it, so it leaves the socket table now.
            if (was == TcpState.SynReceived) _listener._embryonic--;
            else _listener.RemoveFromAcceptQueue(this);
            _listener.Notify();
            _listener = null;
            _userClosed = true;
        }
        Engine.TcpForget(this, was == TcpState.TimeWait);
        Notify();
    }

    private void RemoveFromAcceptQueue(TcpSocket child)
    {
        int n = _acceptQueue.Count;
        for (int i = 0; i < n; i++)
        {
            var c = _acceptQueue.Dequeue();
            if (c != child) _acceptQueue.Enqueue(c);
        }
    }

    private void FreeBuffers()
    {
        _send?.Release();
        _send = null;
        // Data the program has not read yet stays readable after a graceful end.
        if (_userClosed || PendingError != NetError.None || _recv is not { Count: > 0 })
        {
            _recv?.Release();
            _recv = null;
        }
        ClearOutOfOrder();
    }

    public override string ToString() => $"tcp {LocalAddress}:{LocalPort} {RemoteAddress}:{RemotePort} {State}";
}
