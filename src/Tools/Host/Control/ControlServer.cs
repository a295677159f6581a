// The instance side of the control protocol: a Unix-domain stream socket at
// <run>/control.sock; one background thread accepts, and each connection is served on its own
// thread (a `service` request may wait up to a minute for its component, and must not hold up
// `ps` or `shutdown`, nor a recovery script's own `service restart`). Each connection carries
// one request line (at most MaxRequest bytes) and gets one text response, then is closed.
// Requests: ping, ps, denials, info, devices, shutdown, service "ARG"… (ControlArgs). Requests are
// answered from kernel snapshots and public entry points (Kernel.Invoke), so these threads
// never touch kernel tables themselves. Nothing here trusts the request beyond its first line.
using System.Net.Sockets;
using System.Text;

namespace Bulkhead.Host.Control;

internal sealed class ControlServer : IDisposable
{
    private const int MaxRequest = 16384;

    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly Func<string, string> _handle;
    private readonly string _path;
    private volatile bool _closed;

    /// <param name="handle">Maps a request (trimmed first line) to the response text.</param>
    public ControlServer(string path, Func<string, string> handle)
    {
        _path = path;
        _handle = handle;
        if (File.Exists(path)) File.Delete(path); // stale: the caller has checked nobody answers
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
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
                string response = _handle(ReadLine(conn));
                conn.Send(Encoding.UTF8.GetBytes(response));
                conn.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException) { }
        }
    }

    private static string ReadLine(Socket conn)
    {
        var buf = new byte[MaxRequest];
        int n = 0;
        while (n < buf.Length)
        {
            int r = conn.Receive(buf, n, buf.Length - n, SocketFlags.None);
            if (r <= 0) break;
            n += r;
            if (Array.IndexOf(buf, (byte)'\n', 0, n) >= 0) break;
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
