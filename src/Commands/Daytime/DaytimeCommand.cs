// daytime [-T TIMEOUT_S] ADDRESS [PORT]: the RFC 867 client — connects with TCP (port 13 by
// default), prints what the server sends until it closes the connection, each step within the
// time-out (default 10 s). Exit 0 when something came, 1 on an error (named) or an empty
// answer, 2 on bad usage.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Daytime;

public static class DaytimeCommand
{
    public const int Port = 13;
    /// <summary>How long a step of the exchange may take unless -T says otherwise.</summary>
    private const int DefaultTimeoutS = 10;

    public static int Run(string[] args)
    {
        int port = Port, timeoutS = DefaultTimeoutS;
        // args[0] is the program's name.
        if (args.Length > 2 && args[1] == "-T")
        {
            if (!int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out timeoutS) || timeoutS is < 1 or > 3600) return Usage();
            args = [args[0], .. args[3..]];
        }
        if (args.Length is < 2 or > 3 || !Ip4.TryParse(args[1], out uint address) ||
            (args.Length == 3 && (!int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)))
            return Usage();
        using var s = InetSocket.Tcp();
        s.TimeoutMs = timeoutS * 1000;
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

    private static int Usage()
    {
        Console.Error.WriteLine("usage: daytime [-T TIMEOUT_S] ADDRESS [PORT]");
        return 2;
    }
}
