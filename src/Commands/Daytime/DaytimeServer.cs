// daytimed [-s] [-p PORT] [-n COUNT]: the RFC 867 server — listens on TCP port 13 (or PORT),
// and to every connection sends the date and time as one line of text and closes it. Serves
// COUNT connections, then exits 0 (default: for ever). One connection at a time, as the service
// is one write: a client that never reads cannot hold it up (the line fits any send buffer).
// -s: run as a service under RS (etc/rc starts it so, with -period 0: it waits in INET, not in
// RECEIVE, so it cannot answer heartbeats): it tells RS once it listens (InitDone). When INET
// dies the listener goes with it and daytimed exits 1; INET's recovery script (etc/rs/inet.sh)
// restarts it after INET.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Daytime;

public static class DaytimeServer
{
    public static int Run(string[] args)
    {
        int port = DaytimeCommand.Port, count = -1;
        bool service = false;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "-s")
            {
                service = true;
                continue;
            }
            int v = 0;
            bool ok = i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out v) && v > 0;
            if (!ok || args[i] is not ("-p" or "-n") || (args[i] == "-p" && v > 65535))
            {
                Console.Error.WriteLine("usage: daytimed [-s] [-p PORT] [-n COUNT]");
                return 2;
            }
            if (args[i] == "-p") port = v;
            else count = v;
            i++;
        }
        if (service) Bulkhead.Lib.Rs.ServiceRuntime.Start();
        using var listener = InetSocket.Tcp();
        int r = listener.Bind(0, port);
        if (r == Err.Ok) r = listener.Listen(64);
        if (r != Err.Ok)
        {
            Console.Error.WriteLine($"daytimed: listen on port {port}: {Err.Name(r)}");
            return 1;
        }
        Console.WriteLine($"daytimed: listening on port {port}");
        Console.Out.Flush();
        if (service) Bulkhead.Lib.Rs.ServiceRuntime.InitDone();
        for (int served = 0; count < 0 || served < count;)
        {
            r = listener.Accept(out var c);
            if (r != Err.Ok)
            {
                Console.Error.WriteLine($"daytimed: accept: {Err.Name(r)}");
                if (r is Err.EDEADSRCDST or Err.EBADF) return 1; // INET is gone, and the listener with it
                continue;
            }
            using (c)
            {
                string line = DateTime.UtcNow.ToString("dddd, MMMM d, yyyy HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) + "\r\n";
                c!.Send(Encoding.ASCII.GetBytes(line));
            }
            served++;
        }
        return 0;
    }
}
