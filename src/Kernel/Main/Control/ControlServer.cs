// The instance side of the control protocol: a Unix-domain stream socket at
// <run>/control.sock; one background thread accepts, and each connection is served on its own
// thread (a `service` request may wait up to a minute for its component, and must not hold up
// `ps` or `shutdown`, nor a recovery script's own `service restart`). Each connection carries
// one request line (at most ControlProtocol.MaxRequestBytes bytes with its '\n') and gets one text response,
// then is closed; a longer line is answered "error: request too large …" (ControlClient never
// sends one, so a user sees the limit, not a broken connection).
// Requests: ping, ps, denials, info, devices, shutdown, service "ARG"… (ControlArgs). Requests are
// answered from kernel snapshots and public entry points (Kernel.Invoke), so these threads
// never touch kernel tables themselves. Nothing here trusts the request beyond its first line.
// The instance's second socket, <run>/service.sock, is this server with a peer filter: any local
// user may connect (mode 0666), but only the instance's own recovery scripts (their uids,
// SO_PEERCRED) and root are answered, and only `service` requests (docs/confinement.md).
using System.Net.Sockets;
using System.Text;
using Bulkhead.Lib.Control;

namespace Bulkhead.Kernel.Main.Control;

internal sealed class ControlServer : IDisposable
{
    /// <summary>How much of an overlong request is read and dropped before the answer, so the
    /// client is not reset while it still writes.</summary>
    private const int MaxDrainBytes = 1 << 20;

    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly Func<string, string> _handle;
    private readonly Func<string, IReadOnlyList<int>, Socket, string>? _run;
    private readonly string _path;
    private readonly Func<uint, bool>? _peerAllowed;
    private volatile bool _closed;

    /// <param name="handle">Maps a request (trimmed first line) to the response text.</param>
    /// <param name="peerAllowed">When given, the socket is open to every local user and a
    /// connection is answered only when its peer's uid passes.</param>
    /// <param name="run">When given, serves `run` requests: the request, the descriptors that came
    /// with it (SCM_RIGHTS; closed after it returns) and the connection, which stays open while
    /// the program runs.</param>
    public ControlServer(string path, Func<string, string> handle, Func<uint, bool>? peerAllowed = null,
                         Func<string, IReadOnlyList<int>, Socket, string>? run = null)
    {
        _path = path;
        _handle = handle;
        _run = run;
        _peerAllowed = peerAllowed;
        if (File.Exists(path)) File.Delete(path); // stale: the caller has checked nobody answers
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        if (peerAllowed is not null && !OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead |
                                       UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        _listener.Listen(16);
        _thread = new Thread(Serve) { Name = "bulkhead-control", IsBackground = true };
        _thread.Start();
    }

    private void Serve()
    {
        while (!_closed)
        {
            Socket conn;
            try { conn = _listener.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            new Thread(() => ServeOne(conn)) { Name = "bulkhead-control-conn", IsBackground = true }.Start();
        }
    }

    private void ServeOne(Socket conn)
    {
        using (conn)
        {
            try
            {
                conn.ReceiveTimeout = 5000;
                conn.SendTimeout = 5000;
                if (_peerAllowed is not null && !_peerAllowed(PeerUid(conn))) return;
                var fds = new List<int>();
                try
                {
                    string? line = ReadLine(conn, fds);
                    string response = line is null ? ControlProtocol.TooLarge()
                        : _run is not null && ControlProtocol.IsRun(line) ? _run(line, fds, conn)
                        : _handle(line);
                    conn.Send(Encoding.UTF8.GetBytes(response));
                    conn.Shutdown(SocketShutdown.Both);
                }
                finally
                {
                    foreach (int fd in fds) Bulkhead.Lib.Host.Native.close(fd);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException) { }
        }
    }

    /// <summary>The uid of the process at the other end (SO_PEERCRED: pid, uid, gid).</summary>
    private static uint PeerUid(Socket conn)
    {
        var cred = new byte[12];
        int n = conn.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred);
        return n == 12 ? BitConverter.ToUInt32(cred, 4) : uint.MaxValue;
    }

    /// <summary>The request's first line, trimmed; null when ControlProtocol.MaxRequestBytes hold no '\n'
    /// (the rest of the line is then read and dropped, up to MaxDrainBytes). Descriptors passed
    /// with the line (SCM_RIGHTS) are added to <paramref name="fds"/>.</summary>
    private static string? ReadLine(Socket conn, List<int> fds)
    {
        var buf = new byte[ControlProtocol.MaxRequestBytes];
        int n = 0;
        bool ended = false;
        while (n < buf.Length)
        {
            int r = Bulkhead.Lib.Host.Native.ReceiveWithFds((int)conn.Handle, buf.AsSpan(n), fds);
            if (r == -Bulkhead.Lib.Host.Native.EINTR) continue;
            if (r == -Bulkhead.Lib.Host.Native.EAGAIN)
            {
                // A socket .NET made non-blocking: wait for the rest as Receive would (5 s).
                if (!conn.Poll(5_000_000, SelectMode.SelectRead)) throw new IOException("request timed out");
                continue;
            }
            if (r <= 0)
            {
                ended = true;
                break;
            }
            n += r;
            if (Array.IndexOf(buf, (byte)'\n', 0, n) >= 0)
            {
                ended = true;
                break;
            }
        }
        if (!ended)
        {
            for (int drained = 0, r; drained < MaxDrainBytes && (r = conn.Receive(buf)) > 0; drained += r)
                if (Array.IndexOf(buf, (byte)'\n', 0, r) >= 0) break;
            return null;
        }
        string text = Encoding.UTF8.GetString(buf, 0, n);
        int nl = text.IndexOf('\n');
        return (nl >= 0 ? text[..nl] : text).Trim();
    }

    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        _listener.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
