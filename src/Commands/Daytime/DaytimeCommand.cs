// daytime ADDRESS [PORT]: the RFC 867 client — connects with TCP (port 13 by default), prints
// what the server sends until it closes the connection. Exit 0 when something came, 1 on an
// error (named) or an empty answer, 2 on bad usage.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Daytime;

public static class DaytimeCommand
{
    public const int Port = 13;
    /// <summary>How long the whole exchange may take.</summary>
    private const int TimeoutMs = 10_000;

    public static int Run(string[] args)
    {
        int port = Port;
        if (args.Length is < 2 or > 3 || !Ip4.TryParse(args[1], out uint address) ||
            (args.Length == 3 && (!int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)))
        {
            Console.Error.WriteLine("usage: daytime ADDRESS [PORT]");
            return 2;
        }
        using var s = InetSocket.Tcp();
        s.TimeoutMs = TimeoutMs;
        int r = s.Connect(address, port);
        if (r != Err.Ok)
        {
            Console.Error.WriteLine($"daytime: connect to {args[1]}:{port}: {Err.Name(r)}");
            return 1;
        }
        var text = new StringBuilder();
        var buf = new byte[1024];
        while ((r = s.Receive(buf)) > 0 && text.Length < 64 * 1024) text.Append(Encoding.ASCII.GetString(buf, 0, r));
        if (r < 0)
        {
            Console.Error.WriteLine($"daytime: receive: {Err.Name(r)}");
            return 1;
        }
        Console.Write(text.ToString());
        Console.Out.Flush();
        return text.Length > 0 ? 0 : 1;
    }
}
