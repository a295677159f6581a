// ping [-c COUNT] [-i INTERVAL_MS] [-s SIZE] [-W WAIT_MS] ADDRESS: ICMP echo requests through
// INET (an echo socket, docs/inet.md "Sockets"), one every INTERVAL ms (default 1000), each
// answered or given up after WAIT ms (default the interval, at least 1000); prints each reply
// and a summary in iputils' words. Exit 0 when any reply came, 1 when none, 2 on bad usage.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Ping;

public static class PingCommand
{
    private const string Usage = "usage: ping [-c COUNT] [-i INTERVAL_MS] [-s SIZE] [-W WAIT_MS] ADDRESS";

    public static int Run(string[] args)
    {
        int count = 4, interval = 1000, size = 56, wait = -1;
        string? target = null;
        for (int i = 1; i < args.Length; i++)
        {
            int? Value() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;
            switch (args[i])
            {
                case "-c": count = Value() ?? -1; break;
                case "-i": interval = Value() ?? -1; break;
                case "-s": size = Value() ?? -1; break;
                case "-W": wait = Value() ?? -1; break;
                default: target = target is null ? args[i] : ""; break;
            }
        }
        if (target is null || !Ip4.TryParse(target, out uint address) || count < 1 || interval < 0 || size is < 8 or > 65000 || wait < -1 || wait == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (wait < 0) wait = Math.Max(interval, 1000);
        int r = InetSocket.Echo(out var socket);
        if (r != Err.Ok)
        {
            Console.Error.WriteLine($"ping: no echo socket: {Err.Name(r)}");
            return 1;
        }
        using var s = socket!;
        Console.WriteLine($"PING {target} ({target}) {size} data bytes");
        var payload = new byte[size];
        var reply = new byte[size + 16];
        var rtts = new List<double>();
        var started = Stopwatch.StartNew();
        for (int seq = 1; seq <= count; seq++)
        {
            long sentAt = Stopwatch.GetTimestamp();
            BinaryPrimitives.WriteInt64LittleEndian(payload, sentAt);
            for (int k = 8; k < size; k++) payload[k] = (byte)k;
            r = s.EchoRequest(address, seq, payload);
            if (r < 0)
            {
                Console.WriteLine($"From {target} icmp_seq={seq} {Err.Name(r)}");
                Pause(sentAt, interval, seq < count);
                continue;
            }
            // Replies to earlier requests that came late are printed and skipped.
            while (true)
            {
                int left = wait - (int)Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds;
                if (left <= 0) break;
                s.TimeoutMs = left;
                int n = s.EchoReply(reply, out uint from, out int rseq, out int ttl);
                if (n < 0) break;
                long sent = n >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(reply) : sentAt;
                double ms = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                bool intact = n == size && reply.AsSpan(8, size - 8).SequenceEqual(payload.AsSpan(8));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{n + 8} bytes from {Ip4.Format(from)}: icmp_seq={rseq} ttl={ttl} time={ms:F3} ms{(intact ? "" : " (corrupt payload)")}"));
                if (rseq == (ushort)seq && intact)
                {
                    rtts.Add(ms);
                    break;
                }
            }
            Pause(sentAt, interval, seq < count);
        }
        int lost = count - rtts.Count;
        Console.WriteLine($"--- {target} ping statistics ---");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count} packets transmitted, {rtts.Count} received, {100.0 * lost / count:0.#}% packet loss, time {started.ElapsedMilliseconds}ms"));
        if (rtts.Count > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rtt min/avg/max = {rtts.Min():F3}/{rtts.Average():F3}/{rtts.Max():F3} ms"));
        Console.Out.Flush();
        return rtts.Count > 0 ? 0 : 1;
    }

    private static void Pause(long sentAt, int interval, bool more)
    {
        if (!more) return;
        int left = interval - (int)Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds;
        if (left > 0) Thread.Sleep(left);
    }
}
