// The host's limit for a round trip between two processes: a plain futex ping-pong over a
// shared memfd, nothing else. The runner starts two peers (bulkhead-image futex-peer) on the
// same page and reads the client's median. Both processes pinned to one CPU and both unpinned
// are measured; the benchmark reports the better one, as the issue defines raw_futex_rtt_ns.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Host;

namespace Bulkhead.Bench;

public static unsafe class FutexPingPong
{
    /// <summary>futex-peer server|client FD CPU N</summary>
    public static int Peer(string[] a)
    {
        bool client = a[0] == "client";
        int fd = int.Parse(a[1], CultureInfo.InvariantCulture);
        int cpu = int.Parse(a[2], CultureInfo.InvariantCulture);
        int n = int.Parse(a[3], CultureInfo.InvariantCulture);
        if (cpu >= 0)
        {
            ulong mask = 1UL << cpu;
            Native.sched_setaffinity(0, sizeof(ulong), &mask);
        }
        var page = (uint*)Native.mmap(0, 4096, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, fd, 0);
        if (page == (uint*)-1) return 1;
        uint* ping = page;
        uint* pong = page + 16; // separate cache lines
        int warm = Math.Min(n, 2000);
        int total = n + warm;
        if (!client)
        {
            uint last = 0;
            for (int i = 0; i < total; i++)
            {
                while (Volatile.Read(ref *ping) == last) Native.FutexWait(ping, last);
                last = Volatile.Read(ref *ping);
                Volatile.Write(ref *pong, last);
                Native.FutexWake(pong, 1);
            }
            return 0;
        }
        var samples = new long[n];
        for (int i = 1; i <= total; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Volatile.Write(ref *ping, (uint)i);
            Native.FutexWake(ping, 1);
            uint cur;
            while ((cur = Volatile.Read(ref *pong)) != (uint)i) Native.FutexWait(pong, cur);
            long t1 = Stopwatch.GetTimestamp();
            if (i > warm) samples[i - warm - 1] = (t1 - t0) * 1_000_000_000 / Stopwatch.Frequency;
        }
        Array.Sort(samples);
        Console.WriteLine($"futex {samples[n / 2]} {samples[Math.Min(n - 1, n * 99 / 100)]}");
        return 0;
    }
}
