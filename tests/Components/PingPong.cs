// SENDREC ping-pong: a server that answers every request, and a client that measures round
// trips and prints "rtt <median ns> <p99 ns> <count>" on stdout.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Server;

namespace Bulkhead.TestComponents;

internal static class PingPong
{
    public static int Server()
    {
        var loop = new ServerLoop { OnUnknown = (ref Message m) => Err.Ok };
        return loop.Run();
    }

    public static int Client(string[] args)
    {
        int dst = int.Parse(args[0], CultureInfo.InvariantCulture);
        int n = int.Parse(args[1], CultureInfo.InvariantCulture);
        int warm = Math.Min(n / 10 + 10, 2000);
        var samples = new long[n];
        for (int i = 0; i < warm + n; i++)
        {
            var m = new Message(1);
            long t0 = Stopwatch.GetTimestamp();
            int r = IpcCall.SendRec(dst, ref m);
            long t1 = Stopwatch.GetTimestamp();
            if (r != Err.Ok)
            {
                Console.WriteLine($"error {Err.Name(r)} at {i}");
                return 1;
            }
            if (i >= warm) samples[i - warm] = (t1 - t0) * 1_000_000_000 / Stopwatch.Frequency;
        }
        Array.Sort(samples);
        Console.WriteLine($"rtt {samples[n / 2]} {samples[Math.Min(n - 1, n * 99 / 100)]} {n}");
        return 0;
    }
}
