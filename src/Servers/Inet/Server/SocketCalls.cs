// The socket calls of programs (Lib/Net/InetCall.cs; docs/inet.md "Sockets"): each request is
// tried at once; one that cannot complete yet is kept as its caller's one pending call (a
// program blocked in SENDREC has no other) and tried again whenever a socket it waits for
// changes readiness, until it completes, its deadline passes (ETIMEDOUT, or 0 for Poll) or its
// caller dies. The answer then goes out with SENDNB (ServerLoop.Reply): the caller waits in the
// receive half of its SENDREC, and INET never blocks on a program.
// Ownership: a socket belongs to the endpoint that opened it (at most
// InetCall.MaxSocketsPerOwner); anyone else naming it gets EBADF. Owners are checked once a
// second (TIMES answers EDEADSRCDST for a dead endpoint) and a dead owner's sockets are aborted
// (TCP: RST), so a killed program leaves nothing behind.
// Nothing in a request is trusted: socket ids, lengths, counts, ports and grants are checked
// before anything changes; data moves only through the caller's grants (SAFECOPY into and out
// of one scratch block of InetCall.MaxTransfer bytes).
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Inet.Icmp;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Server;

public sealed class SocketCalls
{
    /// <summary>How often owners are checked for life.</summary>
    private const long OwnerSweepUs = 1_000_000;
    /// <summary>The result of an attempt that must wait.</summary>
    private const int Blocked = int.MinValue;

    private readonly NetEngine _engine;
    private readonly Func<string> _status;
    private readonly long _scratch;
    private readonly Dictionary<int, Owned> _sockets = [];
    private readonly Dictionary<int, int> _perOwner = [];
    private readonly Dictionary<int, Pending> _pending = [];
    private readonly HashSet<int> _changed = [];
    private ServerLoop? _loop;
    private long _nextSweep;

    private sealed record Owned(int Owner, NetSocket Socket);

    private sealed class Pending
    {
        public Message Request;
        /// <summary>When the wait ends (µs, InetClock), or long.MaxValue.</summary>
        public long Deadline;
    }

    /// <param name="status">INET's own status text for Stats (interfaces, drivers).</param>
    public SocketCalls(NetEngine engine, Func<string> status)
    {
        _engine = engine;
        _status = status;
        _scratch = ArenaHeap.Allocate(InetCall.MaxTransfer);
        if (_scratch < 0) throw new InvalidOperationException("no arena for INET's socket buffer");
    }

    public int OpenSockets => _sockets.Count;
    public int PendingCalls => _pending.Count;

    private Span<byte> Scratch(int length) => Channel.Current.Arena.Slice((int)_scratch, length);

    /// <summary>Registers the socket calls with the server loop; <paramref name="after"/> runs
    /// after each (the server's post-event work: pending calls, the alarm).</summary>
    public void Register(ServerLoop loop, Action after)
    {
        _loop = loop;
        foreach (int call in new[] { InetCall.TcpConnect, InetCall.TcpListen, InetCall.Accept, InetCall.UdpOpen, InetCall.EchoOpen,
                                     InetCall.Send, InetCall.Recv, InetCall.Shutdown, InetCall.Close, InetCall.Poll,
                                     InetCall.SetOption, InetCall.Stats })
            loop.On(call, (ref Message m) =>
            {
                int r = Call(ref m);
                after();
                return r;
            });
    }

    /// <summary>A socket changed readiness (ISocketObserver, inside an engine call): noted only.</summary>
    public void Changed(NetSocket socket)
    {
        if (_sockets.ContainsKey(socket.Id)) _changed.Add(socket.Id);
    }

    private int Call(ref Message m)
    {
        int source = m.Source;
        if (_pending.ContainsKey(source)) return Err.EBUSY; // cannot happen: the caller is blocked
        // Read before the attempt: a connect's request is rewritten to carry its socket.
        int timeout = m.Type == InetCall.Poll ? m.As<InetPollRequest>().TimeoutMs
                    : m.Type is InetCall.TcpConnect or InetCall.TcpListen ? m.As<InetOpenRequest>().TimeoutMs
                    : m.As<InetIoRequest>().TimeoutMs;
        int r = Attempt(ref m, first: true);
        if (r != Blocked) return r;
        long deadline = timeout > 0 ? InetClock.NowUs + timeout * 1000L : long.MaxValue;
        _pending[source] = new Pending { Request = m, Deadline = deadline };
        return Err.EDONTREPLY;
    }

    /// <summary>After every event: pending calls whose sockets changed are tried again, those
    /// past their deadline answered, dead owners swept. Returns the earliest deadline.</summary>
    public long Tick(long now)
    {
        if (_pending.Count > 0)
        {
            foreach (var (caller, p) in _pending.ToArray())
            {
                bool expired = now >= p.Deadline;
                if (!expired && !Touches(p.Request)) continue;
                var m = p.Request;
                int r = Attempt(ref m, first: false);
                if (r == Blocked && !expired) continue;
                if (r == Blocked) r = TimedOut(ref m);
                _pending.Remove(caller);
                Answer(caller, r, ref m);
            }
        }
        _changed.Clear();
        if (now >= _nextSweep && _sockets.Count > 0)
        {
            _nextSweep = now + OwnerSweepUs;
            foreach (int owner in _perOwner.Keys.ToArray())
                if (SysCall.Times(owner, out _) == Err.EDEADSRCDST) Forget(owner);
        }
        long next = _sockets.Count > 0 ? _nextSweep : long.MaxValue;
        foreach (var p in _pending.Values) next = Math.Min(next, p.Deadline);
        return next;
    }

    private void Answer(int caller, int result, ref Message m)
    {
        if (_loop!.Reply(caller, result, ref m) == Err.EDEADSRCDST) Forget(caller);
    }

    /// <summary>The answer of a call whose wait ran out.</summary>
    private int TimedOut(ref Message m)
    {
        if (m.Type == InetCall.Poll) return 0;
        if (m.Type == InetCall.TcpConnect && _sockets.Remove(m.As<InetOpenReply>().Socket, out var o))
        {
            Drop(o);
            ((TcpSocket)o.Socket).Abort();
        }
        m = default;
        return Err.ETIMEDOUT;
    }

    /// <summary>Does a pending request wait for a socket that changed?</summary>
    private bool Touches(in Message m)
    {
        if (_changed.Count == 0) return false;
        if (m.Type == InetCall.TcpConnect) return _changed.Contains(m.As<InetOpenReply>().Socket);
        if (m.Type != InetCall.Poll) return _changed.Contains(m.As<InetIoRequest>().Socket);
        return true; // poll: cheap to re-check its few sockets
    }

    /// <summary>One try of a request: its result (payload filled in), or Blocked.</summary>
    private int Attempt(ref Message m, bool first)
    {
        int caller = m.Source;
        switch (m.Type)
        {
            case InetCall.TcpConnect: return first ? Connect(ref m, caller) : ConnectDone(ref m);
            case InetCall.TcpListen: return Listen(ref m, caller);
            case InetCall.UdpOpen: return OpenUdp(ref m, caller);
            case InetCall.EchoOpen: return OpenEcho(ref m, caller);
            case InetCall.Poll: return Poll(ref m, caller, first);
            case InetCall.Stats: return Stats(ref m, caller);
        }
        var req = m.As<InetIoRequest>();
        if (!_sockets.TryGetValue(req.Socket, out var owned) || owned.Owner != caller) return Err.EBADF;
        bool nonBlocking = (req.Flags & InetCall.NonBlocking) != 0;
        int r = (m.Type, owned.Socket) switch
        {
            (InetCall.Accept, TcpSocket t) => Accept(ref m, caller, t),
            (InetCall.Send, TcpSocket t) => TcpSend(req, caller, t),
            (InetCall.Send, UdpSocket u) => UdpSend(req, caller, u),
            (InetCall.Send, EchoSocket e) => EchoSend(req, caller, e),
            (InetCall.Recv, TcpSocket t) => TcpRecv(ref m, req, caller, t),
            (InetCall.Recv, UdpSocket u) => UdpRecv(ref m, req, caller, u),
            (InetCall.Recv, EchoSocket e) => EchoRecv(ref m, req, caller, e),
            (InetCall.Shutdown, TcpSocket t) => Errno(t.Shutdown()),
            (InetCall.Close, _) => Close(req.Socket, owned),
            (InetCall.SetOption, TcpSocket t) when req.Option == InetCall.OptionNoDelay => SetNoDelay(t, req.Value),
            (InetCall.SetOption, _) => Err.EINVAL,
            _ => Err.ENOTCONN, // accept on a connection, shutdown of a datagram socket
        };
        if (r == Blocked && nonBlocking) return Err.EAGAIN;
        if (r != Blocked && m.Type is InetCall.Send or InetCall.Shutdown or InetCall.Close or InetCall.SetOption) m = default;
        return r;
    }

    private static int SetNoDelay(TcpSocket t, int value)
    {
        t.NoDelay = value != 0;
        return Err.Ok;
    }

    /// <summary>The caller may hold one more socket.</summary>
    private bool Room(int caller) => _perOwner.GetValueOrDefault(caller) < InetCall.MaxSocketsPerOwner;

    private void Own(int caller, NetSocket s)
    {
        _sockets[s.Id] = new Owned(caller, s);
        _perOwner[caller] = _perOwner.GetValueOrDefault(caller) + 1;
    }

    private void Drop(Owned o)
    {
        if (--_perOwner[o.Owner] == 0) _perOwner.Remove(o.Owner);
    }

    private static bool PortOk(int port) => port is >= 0 and <= ushort.MaxValue;

    private static bool BuffersOk(in InetOpenRequest r) =>
        r.SendBuffer == 0 || r.SendBuffer is >= NetLimits.MinTcpBuffer and <= NetLimits.MaxTcpBuffer &&
        (r.ReceiveBuffer == 0 || r.ReceiveBuffer is >= NetLimits.MinTcpBuffer and <= NetLimits.MaxTcpBuffer);

    private static Message Opened(NetSocket s, Ip4Address local, int localPort, Ip4Address remote, int remotePort) =>
        Message.Of(0, new InetOpenReply { Socket = s.Id, Local = local.Value, LocalPort = localPort, Remote = remote.Value, RemotePort = remotePort });

    private int Connect(ref Message m, int caller)
    {
        var req = m.As<InetOpenRequest>();
        if (!PortOk(req.LocalPort) || req.RemotePort is <= 0 or > ushort.MaxValue || !BuffersOk(req) || req.TimeoutMs < 0) return Err.EINVAL;
        if (!Room(caller)) return Err.ENOBUFS;
        var s = _engine.TcpConnect(new Ip4Address(req.Remote), (ushort)req.RemotePort, out var e, (ushort)req.LocalPort,
                                   req.SendBuffer == 0 ? NetLimits.DefaultTcpBuffer : req.SendBuffer,
                                   req.ReceiveBuffer == 0 ? NetLimits.DefaultTcpBuffer : req.ReceiveBuffer);
        if (s is null) return Errno(e);
        Own(caller, s);
        int flags = req.Flags;
        // From here on the request carries the socket (InetOpenReply.Socket is its first field).
        m = Opened(s, s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort);
        m.Type = InetCall.TcpConnect;
        m.Source = caller;
        if ((flags & InetCall.NonBlocking) != 0) return s.State == TcpState.Established ? Err.Ok : Err.EINPROGRESS;
        return ConnectDone(ref m);
    }

    private int ConnectDone(ref Message m)
    {
        int id = m.As<InetOpenReply>().Socket;
        if (!_sockets.TryGetValue(id, out var o)) return Err.EBADF;
        var s = (TcpSocket)o.Socket;
        if (s.State is TcpState.SynSent or TcpState.SynReceived) return Blocked;
        if (s.State is TcpState.Established or TcpState.CloseWait)
        {
            m = Opened(s, s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort);
            return Err.Ok;
        }
        var error = s.TakeError();
        _sockets.Remove(id);
        Drop(o);
        s.Close();
        m = default;
        return error == NetError.None ? Err.ECONNREFUSED : Errno(NetResult.Of(error));
    }

    private int Listen(ref Message m, int caller)
    {
        var req = m.As<InetOpenRequest>();
        if (req.LocalPort is <= 0 or > ushort.MaxValue || req.Backlog is < 1 or > NetLimits.MaxBacklog || !BuffersOk(req)) return Err.EINVAL;
        if (!Room(caller)) return Err.ENOBUFS;
        var s = _engine.TcpListen(new Ip4Address(req.Local), (ushort)req.LocalPort, req.Backlog, out var e,
                                  req.SendBuffer == 0 ? NetLimits.DefaultTcpBuffer : req.SendBuffer,
                                  req.ReceiveBuffer == 0 ? NetLimits.DefaultTcpBuffer : req.ReceiveBuffer);
        if (s is null) return Errno(e);
        Own(caller, s);
        m = Opened(s, s.LocalAddress, s.LocalPort, Ip4Address.Any, 0);
        return Err.Ok;
    }

    private int Accept(ref Message m, int caller, TcpSocket listener)
    {
        if (listener.State != TcpState.Listen) return Err.EINVAL;
        if (!Room(caller)) return Err.ENOBUFS;
        var c = listener.Accept();
        if (c is null) return listener.PendingError != NetError.None ? Errno(NetResult.Of(listener.TakeError())) : Blocked;
        Own(caller, c);
        m = Opened(c, c.LocalAddress, c.LocalPort, c.RemoteAddress, c.RemotePort);
        return Err.Ok;
    }

    private int OpenUdp(ref Message m, int caller)
    {
        var req = m.As<InetOpenRequest>();
        if (!PortOk(req.LocalPort)) return Err.EINVAL;
        if (!Room(caller)) return Err.ENOBUFS;
        var s = _engine.UdpBind(new Ip4Address(req.Local), (ushort)req.LocalPort, out var e);
        if (s is null) return Errno(e);
        Own(caller, s);
        m = Opened(s, s.LocalAddress, s.LocalPort, Ip4Address.Any, 0);
        return Err.Ok;
    }

    private int OpenEcho(ref Message m, int caller)
    {
        if (!Room(caller)) return Err.ENOBUFS;
        var s = _engine.OpenEcho();
        if (s is null) return Err.ENOBUFS;
        Own(caller, s);
        m = Opened(s, Ip4Address.Any, s.Identifier, Ip4Address.Any, 0);
        return Err.Ok;
    }

    private static bool LengthOk(in InetIoRequest req) => req.Length is >= 0 and <= InetCall.MaxTransfer;

    private int TcpSend(in InetIoRequest req, int caller, TcpSocket t)
    {
        if (!LengthOk(req)) return Err.EINVAL;
        if (req.Length == 0) return Errno(t.Send([]));
        int room = t.SendSpace;
        if (room == 0)
        {
            int probe = t.Send(Scratch(1)[..0]); // the socket's error, or 0 when it just is full
            if (probe < 0) return Errno(probe);
            if (t.State is TcpState.SynSent or TcpState.SynReceived or TcpState.Established or TcpState.CloseWait) return Blocked;
            return Err.EPIPE;
        }
        int n = Math.Min(room, req.Length);
        int r = SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, n);
        if (r != Err.Ok) return r;
        return Errno(t.Send(Scratch(n)));
    }

    private int TcpRecv(ref Message m, in InetIoRequest req, int caller, TcpSocket t)
    {
        if (!LengthOk(req)) return Err.EINVAL;
        if (t.State == TcpState.Listen) return Err.ENOTCONN;
        if (req.Length == 0) return Received(ref m, 0);
        int n = Math.Min(t.Available, req.Length);
        if (n == 0)
        {
            // Nothing buffered: Receive answers end of stream (0), the socket's error, or WouldBlock.
            int r = t.Receive(Scratch(1));
            if (r == NetResult.Of(NetError.WouldBlock)) return Blocked;
            return r == 0 ? Received(ref m, 0) : r > 0 ? Err.EIO : Errno(r);
        }
        int got = t.Receive(Scratch(n));
        if (got < 0) return Errno(got);
        int c = SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, got);
        if (c != Err.Ok) return c; // the bytes are lost to a caller that gave a bad grant
        return Received(ref m, got);
    }

    private static int Received(ref Message m, int length, uint source = 0, int port = 0, int sequence = 0, int ttl = 0)
    {
        m = Message.Of(0, new InetRecvReply { Length = length, Source = source, SourcePort = port, Sequence = sequence, Ttl = ttl });
        return length;
    }

    private int UdpSend(in InetIoRequest req, int caller, UdpSocket u)
    {
        if (!LengthOk(req) || req.RemotePort is <= 0 or > ushort.MaxValue) return Err.EINVAL;
        int r = SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, req.Length);
        if (r != Err.Ok && req.Length > 0) return r;
        return Errno(u.SendTo(new Ip4Address(req.Remote), (ushort)req.RemotePort, Scratch(req.Length)));
    }

    private int UdpRecv(ref Message m, in InetIoRequest req, int caller, UdpSocket u)
    {
        if (!LengthOk(req)) return Err.EINVAL;
        if (u.PendingError != NetError.None) return Errno(NetResult.Of(u.TakeError()));
        var d = u.ReceiveFrom();
        if (d is null) return Blocked;
        int n = Math.Min(d.Payload.Length, req.Length);
        d.Payload.AsSpan(0, n).CopyTo(Scratch(n));
        int c = n == 0 ? Err.Ok : SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, n);
        if (c != Err.Ok) return c;
        return Received(ref m, n, d.Source.Value, d.SourcePort);
    }

    private int EchoSend(in InetIoRequest req, int caller, EchoSocket e)
    {
        if (!LengthOk(req) || req.Sequence is < 0 or > ushort.MaxValue) return Err.EINVAL;
        int r = req.Length == 0 ? Err.Ok : SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, req.Length);
        if (r != Err.Ok) return r;
        return Errno(e.Send(new Ip4Address(req.Remote), (ushort)req.Sequence, Scratch(req.Length)));
    }

    private int EchoRecv(ref Message m, in InetIoRequest req, int caller, EchoSocket e)
    {
        if (!LengthOk(req)) return Err.EINVAL;
        var reply = e.Receive();
        if (reply is null) return Blocked;
        int n = Math.Min(reply.Payload.Length, req.Length);
        reply.Payload.AsSpan(0, n).CopyTo(Scratch(n));
        int c = n == 0 ? Err.Ok : SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, n);
        if (c != Err.Ok) return c;
        return Received(ref m, n, reply.Source.Value, 0, reply.Sequence, reply.Ttl);
    }

    private int Close(int id, Owned o)
    {
        _sockets.Remove(id);
        Drop(o);
        CloseSocket(o.Socket);
        return Err.Ok;
    }

    private static void CloseSocket(NetSocket s)
    {
        switch (s)
        {
            case TcpSocket t: t.Close(); break;
            case UdpSocket u: u.Close(); break;
            case EchoSocket e: e.Close(); break;
        }
    }

    /// <summary>The caller is gone: its sockets are aborted and its pending call dropped.</summary>
    private void Forget(int owner)
    {
        _pending.Remove(owner);
        foreach (var (id, o) in _sockets.Where(kv => kv.Value.Owner == owner).ToArray())
        {
            _sockets.Remove(id);
            if (o.Socket is TcpSocket t) t.Abort();
            else CloseSocket(o.Socket);
        }
        _perOwner.Remove(owner);
    }

    private int Poll(ref Message m, int caller, bool first)
    {
        var req = m.As<InetPollRequest>();
        if (req.Count is < 0 or > InetCall.MaxPoll || req.TimeoutMs < -1) return Err.EINVAL;
        int bytes = req.Count * InetPollEntry.Size;
        if (bytes > 0)
        {
            int r = SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, bytes);
            if (r != Err.Ok) return r;
        }
        var entries = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, InetPollEntry>(Scratch(bytes));
        int ready = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            short rev;
            if (!_sockets.TryGetValue(entries[i].Socket, out var o) || o.Owner != caller) rev = InetCall.PollInvalid;
            else
            {
                var rd = o.Socket.Readiness;
                rev = 0;
                if ((rd & Readiness.Readable) != 0) rev |= InetCall.PollIn;
                if ((rd & Readiness.Writable) != 0) rev |= InetCall.PollOut;
                if ((rd & Readiness.Error) != 0) rev |= InetCall.PollErr;
                if (o.Socket is TcpSocket { State: TcpState.Closed or TcpState.TimeWait or TcpState.CloseWait or TcpState.LastAck or TcpState.Closing }) rev |= InetCall.PollHup;
                rev &= (short)(entries[i].Events | InetCall.PollErr | InetCall.PollHup);
            }
            entries[i].Revents = rev;
            if (rev != 0) ready++;
        }
        if (ready == 0 && req.TimeoutMs != 0) return Blocked;
        if (bytes > 0)
        {
            int r = SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, bytes);
            if (r != Err.Ok) return r;
        }
        m = default;
        return ready;
    }

    private int Stats(ref Message m, int caller)
    {
        var req = m.As<InetIoRequest>();
        if (!LengthOk(req)) return Err.EINVAL;
        var text = Encoding.UTF8.GetBytes(_status() + _engine.Stats.Format() +
                                          $"sockets {_sockets.Count} of programs, {_engine.SocketCount} in the engine; pending calls {_pending.Count}\n");
        int n = Math.Min(text.Length, req.Length);
        text.AsSpan(0, n).CopyTo(Scratch(n));
        int r = n == 0 ? Err.Ok : SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, n);
        m = default;
        return r != Err.Ok ? r : n;
    }

    /// <summary>An engine result (count or -NetError) as a count or an errno (docs/inet.md's table).</summary>
    private static int Errno(int engineResult) => engineResult >= 0 ? engineResult : Errno(NetResult.ErrorOf(engineResult));

    private static int Errno(NetError e) => e switch
    {
        NetError.None => Err.Ok,
        NetError.WouldBlock => Blocked,
        NetError.ConnectionRefused => Err.ECONNREFUSED,
        NetError.ConnectionReset => Err.ECONNRESET,
        NetError.TimedOut => Err.ETIMEDOUT,
        NetError.AddressInUse => Err.EADDRINUSE,
        NetError.NotConnected => Err.ENOTCONN,
        NetError.AlreadyConnected => Err.EISCONN,
        NetError.InvalidArgument => Err.EINVAL,
        NetError.NoRoute => Err.ENETUNREACH,
        NetError.MessageTooLong => Err.EMSGSIZE,
        NetError.NoBuffers => Err.ENOBUFS,
        NetError.Shutdown => Err.EPIPE,
        NetError.HostUnreachable => Err.EHOSTUNREACH,
        NetError.Closed => Err.EBADF,
        _ => Err.EIO,
    };
}
