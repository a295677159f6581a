// A hostile component: seeded random traps, raw trap pages and kernel calls, as fast as the
// kernel answers them. It never asks for something that would legitimately block it forever
// (a RECEIVE with nothing to come), so every trap must come back: the run ends with
// "done <count> <result histogram>" on stdout. Arguments: SEED COUNT [ENDPOINT...] where the
// endpoints are live processes it should aim at (and has no right to reach).
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static unsafe class Hostile
{
    public static int Run(string[] args)
    {
        int seed = int.Parse(args[0], CultureInfo.InvariantCulture);
        long count = long.Parse(args[1], CultureInfo.InvariantCulture);
        var live = args.Skip(2).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var rng = new Random(seed);
        var ch = Channel.Current;
        var histogram = new Dictionary<int, long>();
        int[] interesting =
        [
            Endpoint.Any, Endpoint.None, Endpoint.Self, Endpoint.System, Endpoint.Clock, Endpoint.Hardware,
            Endpoint.AsyncM, Endpoint.Idle, -6, -1024, int.MinValue, int.MaxValue, 0, 1, 2, 6, 11, 255, 256, 32767,
            ch.SelfEndpoint, ch.SelfEndpoint + Endpoint.GenerationSize,
        ];
        var page = new byte[sizeof(TrapRequest)];
        for (long i = 0; i < count; i++)
        {
            int kind = rng.Next(100);
            var m = default(Message);
            rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new Span<Message>(ref m)));
            int result;
            if (kind < 20)
            {
                // A raw trap page full of noise.
                rng.NextBytes(page);
                ref var req = ref System.Runtime.InteropServices.MemoryMarshal.AsRef<TrapRequest>(page.AsSpan());
                if (rng.Next(2) == 0) req.Trap = rng.Next(0, 20);
                if (rng.Next(2) == 0) req.SrcDst = Pick(rng, interesting, live);
                MakeSafe(ref req.Trap, ref req.SrcDst, live, ch.SelfEndpoint);
                ch.RingRaw(page, wait: true);
                result = ch.LastResult;
            }
            else if (kind < 55)
            {
                // A random kernel call: valid numbers mostly, noise in the payload.
                m.Type = rng.Next(4) == 0 ? rng.Next() : KernelCall.Base + rng.Next(-2, KernelCall.Count + 2);
                result = ch.Trap(Trap.SendRec, rng.Next(4) == 0 ? Endpoint.Clock : Endpoint.System, ref m);
            }
            else if (kind < 65)
            {
                // A SENDA table anywhere, of any size, with noise in it.
                long at = rng.Next(3) switch
                {
                    0 => rng.NextInt64(-100, ch.ArenaSize + 100),
                    1 => SysCall.HeapStart + rng.Next(0, 4096),
                    _ => ch.ArenaSize - rng.Next(0, 200),
                };
                long n = rng.Next(3) == 0 ? rng.NextInt64(-5, 100_000) : rng.Next(0, 8);
                if (at >= SysCall.HeapStart && at + 8 * 80 < ch.ArenaSize) rng.NextBytes(ch.Arena.Slice((int)at, 8 * 80));
                result = ch.Trap(Trap.SendA, 0, ref m, at, n);
            }
            else if (kind < 70)
            {
                // An alarm and a RECEIVE that it will end.
                SysCall.SetAlarm(rng.Next(1, 200_000), false, out _);
                result = ch.Trap(Trap.Receive, Endpoint.Clock, ref m);
            }
            else
            {
                int trap = rng.Next(8) == 0 ? rng.Next(-3, 40) : new[] { Trap.Send, Trap.SendRec, Trap.SendNb, Trap.Notify, Trap.Receive }[rng.Next(5)];
                int dst = Pick(rng, interesting, live);
                MakeSafe(ref trap, ref dst, live, ch.SelfEndpoint);
                result = ch.Trap(trap, dst, ref m);
            }
            histogram[result] = histogram.GetValueOrDefault(result) + 1;
        }
        Console.WriteLine($"done {count} " + string.Join(' ', histogram.OrderBy(kv => kv.Key).Select(kv => $"{Err.Name(kv.Key)}={kv.Value}")));
        return 0;
    }

    private static int Pick(Random rng, int[] interesting, int[] live) => rng.Next(4) switch
    {
        0 => rng.Next(),
        1 when live.Length > 0 => live[rng.Next(live.Length)],
        _ => interesting[rng.Next(interesting.Length)],
    };

    /// <summary>A RECEIVE from ANY or from a live process might wait forever: aim it at a
    /// dead endpoint instead (the kernel must still answer it).</summary>
    private static void MakeSafe(ref int trap, ref int srcDst, int[] live, int self)
    {
        if (trap != Trap.Receive) return;
        if (srcDst == Endpoint.Any || live.Contains(srcDst) || srcDst == self || srcDst is >= Endpoint.AsyncM and <= Endpoint.Kernel || (srcDst >= 0 && srcDst < Endpoint.GenerationSize))
            srcDst = self + 7 * Endpoint.GenerationSize;
    }
}
