// netstat: INET's interfaces, their drivers, and its counters — frames in and out, TCP
// retransmissions, and every drop by reason (docs/inet.md "Drop counters"); what
// `./bulkhead stats --net` shows. Exit 0, or 1 when INET does not answer (named).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Netstat;

public static class NetstatCommand
{
    public static int Run(string[] args)
    {
        int r = InetSocket.Stats(out string text);
        if (r != Err.Ok)
        {
            Console.Error.WriteLine($"netstat: INET does not answer: {Err.Name(r)}");
            return 1;
        }
        Console.Write(text);
        Console.Out.Flush();
        return 0;
    }
}
