// The socket library of Bulkhead programs (docs/inet.md "Sockets"): BSD-shaped calls over the
// network server's protocol (InetCall). socket() is local (Tcp, Udp, Echo make an unopened
// socket); bind() only notes the local address; listen(), connect() and, for UDP, the first
// bind/send open the socket in INET. Blocking calls block in INET (the program's SENDREC is
// answered when the call completes); NonBlocking makes them answer EAGAIN or EINPROGRESS;
// TimeoutMs bounds a blocking wait (ETIMEDOUT). Poll waits on several sockets at once.
// Results are counts or negative Err codes, as everywhere in the library. If INET dies, every
// call in progress ends with EDEADSRCDST and the sockets are gone (thesis §4.5): a new
// socket finds the restarted INET through DS.
// Data moves through one transfer buffer per process (InetCall.MaxTransfer bytes of the arena,
// granted to INET for reading and writing, made on first use): the library is meant for one
// thread of a program at a time.
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Net;

public enum SocketKind
{
    Tcp,
    Udp,
    Echo,
}

public sealed class InetSocket : IDisposable
{
    private static int s_inet = Endpoint.None;
    private static GrantedBuffer? s_buffer;

    private int _id = -1;

    private InetSocket(SocketKind kind) => Kind = kind;

    public SocketKind Kind { get; }
    /// <summary>INET's socket id, or -1 while not opened in INET.</summary>
    public int Id => _id;
    public uint LocalAddress { get; private set; }
    public int LocalPort { get; private set; }
    public uint RemoteAddress { get; private set; }
    public int RemotePort { get; private set; }
    /// <summary>Calls answer EAGAIN (connect: EINPROGRESS) instead of waiting.</summary>
    public bool NonBlocking { get; set; }
    /// <summary>Milliseconds a blocking call waits at most (0: no limit).</summary>
    public int TimeoutMs { get; set; }

    public static InetSocket Tcp() => new(SocketKind.Tcp);
    public static InetSocket Udp() => new(SocketKind.Udp);
    /// <summary>An ICMP echo socket (ping); opened at once.</summary>
    public static int Echo(out InetSocket? socket)
    {
        var s = new InetSocket(SocketKind.Echo);
        var m = Message.Of(InetCall.EchoOpen, new InetOpenRequest());
        int r = s.Open(ref m);
        socket = r == Err.Ok ? s : null;
        return r;
    }

    private int Flags => NonBlocking ? InetCall.NonBlocking : 0;

    /// <summary>INET's endpoint, looked up in DS once (and again after INET was replaced).</summary>
    private static int Inet(out int endpoint)
    {
        endpoint = s_inet;
        if (endpoint != Endpoint.None) return Err.Ok;
        int r = DsClient.RetrieveLabel(InetCall.Label, out endpoint);
        if (r == Err.Ok) s_inet = endpoint;
        return r;
    }

    /// <summary>One call to INET: SENDREC, the answer's m_type as the result.</summary>
    private static int Call(ref Message m)
    {
        int r = Inet(out int inet);
        if (r != Err.Ok) return r;
        r = IpcCall.SendRec(inet, ref m);
        if (r != Err.Ok)
        {
            if (r is Err.EDEADSRCDST or Err.EDEADEPT or Err.EBADEPT)
            {
                // INET is gone: its successor gets a new endpoint, and a new grant with it.
                s_inet = Endpoint.None;
                s_buffer?.Dispose();
                s_buffer = null;
            }
            return r;
        }
        return m.Type;
    }

    private static int Buffer(out GrantedBuffer buffer)
    {
        buffer = s_buffer!;
        if (s_buffer is not null) return Err.Ok;
        int r = Inet(out int inet);
        if (r != Err.Ok) return r;
        r = GrantedBuffer.Create(inet, InetCall.MaxTransfer, Grant.ReadWrite, out var b);
        if (r != Err.Ok) return r;
        s_buffer = buffer = b!;
        return Err.Ok;
    }

    private int Open(ref Message m)
    {
        int r = Call(ref m);
        if (r is Err.Ok or Err.EINPROGRESS)
        {
            var o = m.As<InetOpenReply>();
            _id = o.Socket;
            LocalAddress = o.Local;
            LocalPort = o.LocalPort;
            RemoteAddress = o.Remote;
            RemotePort = o.RemotePort;
        }
        return r;
    }

    /// <summary>Notes the local address and port (0: any); a UDP socket is opened here.</summary>
    public int Bind(uint address, int port)
    {
        if (_id >= 0) return Err.EINVAL;
        if (port is < 0 or > ushort.MaxValue) return Err.EINVAL;
        LocalAddress = address;
        LocalPort = port;
        return Kind == SocketKind.Udp ? OpenUdp() : Err.Ok;
    }

    private int OpenUdp()
    {
        var m = Message.Of(InetCall.UdpOpen, new InetOpenRequest { Local = LocalAddress, LocalPort = LocalPort });
        return Open(ref m);
    }

    public int Listen(int backlog)
    {
        if (Kind != SocketKind.Tcp || _id >= 0) return Err.EINVAL;
        var m = Message.Of(InetCall.TcpListen, new InetOpenRequest { Local = LocalAddress, LocalPort = LocalPort, Backlog = backlog });
        return Open(ref m);
    }

    /// <summary>TCP: the handshake (blocking: until established, refused, or TimeoutMs).</summary>
    public int Connect(uint address, int port)
    {
        if (Kind != SocketKind.Tcp || _id >= 0) return _id >= 0 ? Err.EISCONN : Err.EINVAL;
        var m = Message.Of(InetCall.TcpConnect, new InetOpenRequest
        {
            Flags = Flags, Remote = address, RemotePort = port, LocalPort = LocalPort, TimeoutMs = TimeoutMs,
        });
        return Open(ref m);
    }

    /// <summary>The next connection of a listener.</summary>
    public int Accept(out InetSocket? connection)
    {
        connection = null;
        if (_id < 0) return Err.EINVAL;
        var m = Message.Of(InetCall.Accept, new InetIoRequest { Socket = _id, Flags = Flags, TimeoutMs = TimeoutMs });
        var c = new InetSocket(SocketKind.Tcp);
        int r = c.Open(ref m);
        if (r == Err.Ok) connection = c;
        return r;
    }

    /// <summary>TCP: sends all of <paramref name="data"/> (blocking) or what INET takes now
    /// (non-blocking); the count, or an error when nothing was sent.</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (Kind != SocketKind.Tcp) return Err.EINVAL;
        if (_id < 0) return Err.ENOTCONN;
        int r = Buffer(out var b);
        if (r != Err.Ok) return r;
        int sent = 0;
        do
        {
            int n = Math.Min(data.Length - sent, b.Length);
            data.Slice(sent, n).CopyTo(b.Span);
            var m = Message.Of(InetCall.Send, new InetIoRequest { Socket = _id, Flags = Flags, Grant = b.Grant, Length = n, TimeoutMs = TimeoutMs });
            r = Call(ref m);
            if (r < 0) return sent > 0 ? sent : r;
            sent += r;
        } while (sent < data.Length && !NonBlocking);
        return sent;
    }

    /// <summary>TCP: up to into.Length bytes; 0 at end of stream.</summary>
    public int Receive(Span<byte> into) => ReceiveFrom(into, out _, out _);

    /// <summary>UDP: one datagram (truncated to into.Length) and its source; TCP: as Receive.</summary>
    public int ReceiveFrom(Span<byte> into, out uint source, out int sourcePort)
    {
        source = 0;
        sourcePort = 0;
        if (Kind == SocketKind.Udp && _id < 0 && OpenUdp() is var o && o != Err.Ok) return o;
        var reply = default(InetRecvReply);
        int r = Recv(into, ref reply);
        source = reply.Source;
        sourcePort = reply.SourcePort;
        return r;
    }

    private int Recv(Span<byte> into, ref InetRecvReply reply)
    {
        if (_id < 0) return Err.ENOTCONN;
        int r = Buffer(out var b);
        if (r != Err.Ok) return r;
        int n = Math.Min(into.Length, b.Length);
        var m = Message.Of(InetCall.Recv, new InetIoRequest { Socket = _id, Flags = Flags, Grant = b.Grant, Length = n, TimeoutMs = TimeoutMs });
        r = Call(ref m);
        if (r < 0) return r;
        reply = m.As<InetRecvReply>();
        int got = Math.Clamp(reply.Length, 0, n);
        b.Span[..got].CopyTo(into);
        return got;
    }

    /// <summary>UDP: one datagram to address:port (the socket is bound to an ephemeral port first if needed).</summary>
    public int SendTo(ReadOnlySpan<byte> data, uint address, int port)
    {
        if (Kind != SocketKind.Udp) return Err.EINVAL;
        if (_id < 0 && OpenUdp() is var o && o != Err.Ok) return o;
        return SendDatagram(data, address, port, 0);
    }

    /// <summary>Echo: one ICMP echo request with <paramref name="sequence"/> and <paramref name="payload"/>.</summary>
    public int EchoRequest(uint address, int sequence, ReadOnlySpan<byte> payload) =>
        Kind != SocketKind.Echo ? Err.EINVAL : SendDatagram(payload, address, 0, sequence);

    /// <summary>Echo: the next reply to this socket's requests: its payload length, source, sequence and TTL.</summary>
    public int EchoReply(Span<byte> into, out uint source, out int sequence, out int ttl)
    {
        var reply = default(InetRecvReply);
        int r = Kind != SocketKind.Echo ? Err.EINVAL : Recv(into, ref reply);
        source = reply.Source;
        sequence = reply.Sequence;
        ttl = reply.Ttl;
        return r;
    }

    private int SendDatagram(ReadOnlySpan<byte> data, uint address, int port, int sequence)
    {
        if (data.Length > InetCall.MaxTransfer) return Err.EMSGSIZE;
        int r = Buffer(out var b);
        if (r != Err.Ok) return r;
        data.CopyTo(b.Span);
        var m = Message.Of(InetCall.Send, new InetIoRequest
        {
            Socket = _id, Flags = Flags, Grant = b.Grant, Length = data.Length, Remote = address, RemotePort = port, Sequence = sequence,
        });
        return Call(ref m);
    }

    /// <summary>TCP: no more sending (FIN after what was sent).</summary>
    public int Shutdown()
    {
        if (_id < 0) return Err.ENOTCONN;
        var m = Message.Of(InetCall.Shutdown, new InetIoRequest { Socket = _id });
        return Call(ref m);
    }

    public int SetNoDelay(bool on)
    {
        if (_id < 0) return Err.ENOTCONN;
        var m = Message.Of(InetCall.SetOption, new InetIoRequest { Socket = _id, Option = InetCall.OptionNoDelay, Value = on ? 1 : 0 });
        return Call(ref m);
    }

    /// <summary>Gives the socket up (TCP: a graceful close in the background, or RST with unread data).</summary>
    public int Close()
    {
        if (_id < 0) return Err.Ok;
        var m = Message.Of(InetCall.Close, new InetIoRequest { Socket = _id });
        _id = -1;
        return Call(ref m);
    }

    public void Dispose() => Close();

    /// <summary>Waits until one of <paramref name="items"/> is ready as its Events ask, or
    /// <paramref name="timeoutMs"/> passes (0: do not wait; -1: no limit); the number ready,
    /// with each item's Revents filled in.</summary>
    public static int Poll(Span<PollItem> items, int timeoutMs)
    {
        if (items.Length > InetCall.MaxPoll) return Err.EINVAL;
        int r = Buffer(out var b);
        if (r != Err.Ok) return r;
        var entries = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, InetPollEntry>(b.Span[..(items.Length * InetPollEntry.Size)]);
        for (int i = 0; i < items.Length; i++)
            entries[i] = new InetPollEntry { Socket = items[i].Socket.Id, Events = items[i].Events };
        var m = Message.Of(InetCall.Poll, new InetPollRequest { Grant = b.Grant, Count = items.Length, TimeoutMs = timeoutMs });
        r = Call(ref m);
        if (r < 0) return r;
        for (int i = 0; i < items.Length; i++) items[i].Revents = entries[i].Revents;
        return r;
    }

    /// <summary>INET's counters and interfaces as text (`stats --net`).</summary>
    public static int Stats(out string text)
    {
        text = "";
        int r = Buffer(out var b);
        if (r != Err.Ok) return r;
        var m = Message.Of(InetCall.Stats, new InetIoRequest { Grant = b.Grant, Length = b.Length });
        r = Call(ref m);
        if (r < 0) return r;
        text = System.Text.Encoding.UTF8.GetString(b.Span[..Math.Min(r, b.Length)]);
        return Err.Ok;
    }
}

/// <summary>One socket of a Poll: what to wait for (InetCall.Poll* bits) and what happened.</summary>
public struct PollItem(InetSocket socket, short events)
{
    public InetSocket Socket = socket;
    public short Events = events;
    public short Revents;
}
