// Components the benchmarks start inside a Bulkhead instance. Each prints one result line on
// stdout, which the runner reads through a pipe:
//   bench-server              answers every request (SENDREC target)
//   bench-client DST N        N SENDREC round trips → "rtt <median ns> <p99 ns>"
//   bench-notify-sink N       receives N (NOTIFY, SEND t0) pairs → "notify <median ns> <p99 ns>"
//   bench-notifier DST N      NOTIFY then SEND the NOTIFY's start time, N times
//   bench-net-client          frames through the network drivers, driven over stdin (NetClient)
//   bench-fscalls DIR N       the file calls of thesis Fig. 5.11 through VFS (FsCalls), a user program
//   bench-tree OP DIR SEED N  the file-tree workloads of thesis Fig. 5.14 (FileTree), a user program
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Server;

namespace Bulkhead.Bench;

public static class BenchComponents
{
    /// <summary>Runs the component named args[0]; null when the name is not a benchmark component.</summary>
    public static int? TryRun(string[] args) => args.Length == 0 ? null : args[0] switch
    {
        "bench-server" => Server(),
        "bench-client" => Client(Int(args, 1), Int(args, 2)),
        "bench-notify-sink" => NotifySink(Int(args, 1)),
        "bench-notifier" => Notifier(Int(args, 1), Int(args, 2)),
        "futex-peer" => FutexPingPong.Peer(args[1..]),
        "bench-mttr-client" => MttrClient.Run(args[1], Int(args, 2)),
        "bench-net-client" => NetClient.Run(),
        "bench-fscalls" => FsCalls.Run(args),
        "bench-tree" => FileTree.Run(args),
        _ => null,
    };

    private static int Int(string[] a, int i) => int.Parse(a[i], CultureInfo.InvariantCulture);

    private static long Ns(long ticks) => ticks * 1_000_000_000 / Stopwatch.Frequency;

    private static int Server()
    {
        var loop = new ServerLoop { OnUnknown = (ref Message m) => Err.Ok };
        return loop.Run();
    }

    private static int Client(int dst, int n)
    {
        var samples = new long[n];
        int warm = Math.Min(n, 2000);
        for (int i = -warm; i < n; i++)
        {
            var m = new Message(1);
            long t0 = Stopwatch.GetTimestamp();
            int r = IpcCall.SendRec(dst, ref m);
            long t1 = Stopwatch.GetTimestamp();
            if (r != Err.Ok) return Fail("sendrec", r);
            if (i >= 0) samples[i] = Ns(t1 - t0);
        }
        Report("rtt", samples);
        return 0;
    }

    private static int NotifySink(int n)
    {
        var samples = new List<long>(n);
        long received = 0;
        while (samples.Count < n)
        {
            int r = IpcCall.Receive(Endpoint.Any, out var m);
            if (r != Err.Ok) return Fail("receive", r);
            if (IpcCall.IsNotify(m))
            {
                received = Stopwatch.GetTimestamp();
                continue;
            }
            long sent = m.As<Stamp>().Ticks;
            if (received != 0 && sent != 0) samples.Add(Ns(received - sent));
            received = 0;
            var ack = new Message(0);
            IpcCall.Send(m.Source, ref ack);
        }
        Report("notify", samples.ToArray());
        return 0;
    }

    private static int Notifier(int dst, int n)
    {
        for (int i = 0; i < n + 1000; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            int r = IpcCall.Notify(dst);
            if (r != Err.Ok) return Fail("notify", r);
            var m = Message.Of(1, new Stamp { Ticks = i < 1000 ? 0 : t0 });
            r = IpcCall.SendRec(dst, ref m); // the sink's answer paces the next notification
            if (r != Err.Ok) return Fail("sendrec", r);
        }
        return 0;
    }

    private static void Report(string what, long[] samples)
    {
        Array.Sort(samples);
        long median = samples.Length == 0 ? 0 : samples[samples.Length / 2];
        long p99 = samples.Length == 0 ? 0 : samples[Math.Min(samples.Length - 1, samples.Length * 99 / 100)];
        Console.WriteLine($"{what} {median} {p99}");
    }

    private static int Fail(string what, int r)
    {
        Console.WriteLine($"error {what} {Err.Name(r)}");
        return 1;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = Message.PayloadSize)]
    private struct Stamp
    {
        public long Ticks;
    }
}
