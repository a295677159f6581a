// The client side of the control protocol (bulkhead-host's commands, and bulkhead-kernel's
// check for a live instance before it boots): connect to <run>/control.sock, send one request
// line, read the text response until the instance closes the connection. A request longer
// than the server takes (ControlProtocol.MaxRequestBytes) is not sent: it is answered here with
// the server's own "error: request too large …", so its sender learns the limit instead of
// reading a reset connection as "no instance".
using System.Net.Sockets;
using System.Text;

namespace Bulkhead.Lib.Control;

public static class ControlClient
{
    /// <summary>Sends <paramref name="request"/>; returns the response, or null when nobody
    /// answers. An oversized request gets the "error: request too large" response.</summary>
    public static string? Ask(string socketPath, string request, int timeoutMs = 10_000)
    {
        byte[] line = Encoding.UTF8.GetBytes(request + "\n");
        if (line.Length > ControlProtocol.MaxRequestBytes) return ControlProtocol.TooLarge(line.Length);
        if (!File.Exists(socketPath)) return null;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.ReceiveTimeout = timeoutMs;
        s.SendTimeout = timeoutMs;
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            s.Send(line);
            using var stream = new NetworkStream(s, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    }

    /// <summary>Sends a `run` request with <paramref name="fds"/> (the caller's stdin, stdout and
    /// stderr) attached and waits, without a time limit, for the answer that comes when the
    /// program ends; null when nobody answers. Closing the connection (the caller exits) makes
    /// the instance kill the program.</summary>
    public static string? Run(string socketPath, IEnumerable<string> args, ReadOnlySpan<int> fds)
    {
        byte[] line = Encoding.UTF8.GetBytes(ControlArgs.Join(ControlProtocol.Run, args) + "\n");
        if (line.Length > ControlProtocol.MaxRequestBytes) return ControlProtocol.TooLarge(line.Length);
        if (!File.Exists(socketPath)) return null;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            if (Host.Native.SendWithFds((int)s.Handle, line, fds) != line.Length) return null;
            using var stream = new NetworkStream(s, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    }

    public static bool Answers(string socketPath) => Ask(socketPath, ControlProtocol.Ping, 2000) is { } r && r.StartsWith(ControlProtocol.Pong, StringComparison.Ordinal);
}
