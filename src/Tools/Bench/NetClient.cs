// The client side of `bench net`: a component that sends frames through a network driver and
// takes them back. At start it has RS start dp8390 (label eth0, the NE2000 at 0x300, IRQ 9) and
// rtl8139 (label eth1, its device from the PCI-bus driver) from this very binary under their
// etc/drivers.conf policies, waits until each announces itself in DS (drv.net.<label>), asks it
// for its MAC (Conf) and grants it one transmit and one receive buffer for the whole run.
// Then, over stdin/stdout with the runner (Bulkhead.Host.Bench.NetBench), one command a line:
//   "run DRIVER SIZE COUNT [warm]" → COUNT round trips of SIZE-byte frames, then "done";
//   "report" → per driver and size "result DRIVER SIZE median_ns p99_ns write_median_ns count
//              busy_ns lost", per driver "stat DRIVER sent received dropped reply_failures", "end";
//   "quit" (or the end of stdin) → exit.
// One round trip: post a Read (SEND: the driver defers its answer), Write the frame (SENDREC),
// RECEIVE the Read's answer; the card's far side echoes every frame with the MACs swapped, so
// the answer must be the frame sent with source and destination exchanged (checked byte for
// byte, outside the timed part). write_ns is the part up to the Write's answer (post + transmit;
// the echo is already in the card then), the rest is the receive path.
// A driver answers a deferred Read with SENDA (NetDriver, AsyncSender), so the answer waits
// until this client RECEIVEs it. (With SENDNB it used to be lost whenever the client was not in
// a RECEIVE at that instant — this benchmark found that.) The wait still carries a watchdog so
// that a regression shows instead of hanging: an alarm every 100 ms; a Read still unanswered
// 50 ms after the Write counts as lost — if the driver counted a reply failure; anything else
// is an error — and the round trip is repeated (reported as lost_replies, 0 today).
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Bench;

public static class NetClient
{
    /// <summary>The station address of the card's far side (locally administered).</summary>
    public static readonly byte[] PeerMac = [0x02, 0x00, 0x00, 0xBE, 0xEF, 0xFE];

    private const long WatchdogNs = 100_000_000, LostAfterNs = 50_000_000;

    private sealed class Nic(string driver, string label, string args)
    {
        public string Driver { get; } = driver;
        public string Label { get; } = label;
        public string Args { get; } = args;
        public int Endpoint = Bulkhead.Lib.Ipc.Endpoint.None;
        public byte[] Mac = [];
        public long TxBuffer = -1, RxBuffer = -1;
        public int TxGrant = -1, RxGrant = -1;
        public long ReplyFailures;
        public readonly Dictionary<int, Series> Sizes = [];
    }

    private sealed class Series
    {
        public readonly List<long> Rtt = [], Write = [];
        public long BusyNs, Lost;
    }

    public static int Run()
    {
        Nic[] nics = [new("dp8390", "eth0", "dp8390 io=0x300 irq=9"), new("rtl8139", "eth1", "rtl8139")];
        foreach (var nic in nics)
        {
            int r = Up(nic, out string why);
            if (r != Err.Ok) return Fail($"service up {nic.Driver}{(why.Length > 0 ? " (" + why + ")" : "")}", r);
        }
        foreach (var nic in nics)
        {
            int r = Attach(nic);
            if (r != Err.Ok) return Fail($"attach {nic.Driver}", r);
        }
        int a = SysCall.SetAlarm(WatchdogNs, false, out _);
        if (a != Err.Ok) return Fail("setalarm", a);
        Console.WriteLine("ready " + string.Join(' ', nics.Select(n => $"{n.Driver} {n.Endpoint} {Convert.ToHexString(n.Mac)}")));

        byte seed = 0;
        while (Console.ReadLine() is { } line)
        {
            var w = line.Split(' ');
            switch (w[0])
            {
                case "run":
                    {
                        var nic = nics.First(n => n.Driver == w[1]);
                        int size = int.Parse(w[2], CultureInfo.InvariantCulture);
                        int count = int.Parse(w[3], CultureInfo.InvariantCulture);
                        bool warm = w.Length > 4 && w[4] == "warm";
                        if (!nic.Sizes.TryGetValue(size, out var s) && !warm) nic.Sizes[size] = s = new Series();
                        for (int i = 0; i < count; i++)
                        {
                            if (RoundTrip(nic, size, seed++, warm ? null : s) is { } error)
                            {
                                Console.WriteLine($"error {nic.Driver} {size}-byte round trip: {error}");
                                return 1;
                            }
                        }
                        Console.WriteLine("done");
                        break;
                    }
                case "report":
                    foreach (var nic in nics)
                    {
                        foreach (var (size, s) in nic.Sizes)
                        {
                            var (median, p99) = Percentiles(s.Rtt);
                            Console.WriteLine($"result {nic.Driver} {size} {median} {p99} {Percentiles(s.Write).Median} {s.Rtt.Count} {s.BusyNs} {s.Lost}");
                        }
                        int r = Stats(nic, out var st);
                        if (r != Err.Ok) return Fail($"getstat {nic.Driver}", r);
                        Console.WriteLine($"stat {nic.Driver} {st.Sent} {st.Received} {st.Dropped} {st.ReplyFailures}");
                    }
                    Console.WriteLine("end");
                    break;
                case "quit":
                    return 0;
                default:
                    return Fail($"unknown command '{line}'", Err.EINVAL);
            }
        }
        return 0;
    }

    /// <summary>One frame out and back, retried after a lost answer. Timed into
    /// <paramref name="s"/> unless it is null (warm-up). Null, or what went wrong.</summary>
    private static string? RoundTrip(Nic nic, int size, byte seed, Series? s)
    {
        var arena = Channel.Current.Arena;
        var tx = arena.Slice((int)nic.TxBuffer, size);
        var rx = arena.Slice((int)nic.RxBuffer, NetDriverCall.MaxFrame);
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            PeerMac.CopyTo(tx);
            nic.Mac.CopyTo(tx[6..]);
            tx[12] = 0x08;
            tx[13] = 0x00;
            for (int i = 14; i < size; i++) tx[i] = (byte)(seed + i * 7);
            rx[..size].Clear();

            long t0 = Stopwatch.GetTimestamp();
            var m = Message.Of(NetDriverCall.Read, new NetBufferRequest { GrantId = nic.RxGrant, Length = NetDriverCall.MaxFrame });
            int r = IpcCall.Send(nic.Endpoint, ref m);
            if (r != Err.Ok) return Error("post read", r);
            m = Message.Of(NetDriverCall.Write, new NetBufferRequest { GrantId = nic.TxGrant, Length = size });
            r = IpcCall.SendRec(nic.Endpoint, ref m);
            if (r != Err.Ok || m.Type != Err.Ok) return Error("write", r != Err.Ok ? r : m.Type);
            long t1 = Stopwatch.GetTimestamp();
            r = AwaitRead(nic.Endpoint, t1, out m, out bool lost);
            long t2 = Stopwatch.GetTimestamp();
            if (r != Err.Ok) return Error("read", r);
            if (lost)
            {
                // Only the race described above may lose a frame: the driver must have counted it.
                r = Stats(nic, out var st);
                if (r != Err.Ok) return Error("getstat", r);
                if (st.ReplyFailures == nic.ReplyFailures) return "the echoed frame never arrived (and the driver counted no lost answer)";
                nic.ReplyFailures = st.ReplyFailures;
                if (s is not null) s.Lost++;
                continue;
            }
            if (m.Type != Err.Ok) return Error("read answer", m.Type);
            var rep = m.As<NetReadReply>();
            if (rep.Length != size || rep.FrameLength != size)
                return $"the echo of {size} bytes came back as {rep.Length} of {rep.FrameLength}";
            if (!rx[..6].SequenceEqual(nic.Mac) || !rx[6..12].SequenceEqual(PeerMac) || !rx[12..size].SequenceEqual(tx[12..size]))
                return "the echoed frame differs from the frame sent";
            long end = Stopwatch.GetTimestamp();
            if (s is not null)
            {
                s.Rtt.Add(Ns(t2 - t0));
                s.Write.Add(Ns(t1 - t0));
                s.BusyNs += Ns(end - start);
            }
            return null;
        }
    }

    /// <summary>Receives the answer to the posted Read; <paramref name="lost"/> when none came
    /// within LostAfterNs of <paramref name="since"/> (the watchdog alarm wakes the RECEIVE).</summary>
    private static int AwaitRead(int driver, long since, out Message m, out bool lost)
    {
        lost = false;
        while (true)
        {
            int r = IpcCall.Receive(Endpoint.Any, out m);
            if (r != Err.Ok) return r;
            if (!IpcCall.IsNotify(m))
                return m.Source == driver ? Err.Ok : Err.EBADREQUEST;
            if (m.Source != Endpoint.Clock) continue;
            r = SysCall.SetAlarm(WatchdogNs, false, out _);
            if (r != Err.Ok) return r;
            if (Ns(Stopwatch.GetTimestamp() - since) > LostAfterNs)
            {
                lost = true;
                return Err.Ok;
            }
        }
    }

    /// <summary>`service up` of the card's driver from this binary under its own policy.</summary>
    private static int Up(Nic nic, out string why)
    {
        var spec = new ServiceSpec { Label = nic.Label, Binary = Environment.ProcessPath!, Args = nic.Args, Policy = nic.Driver };
        return RsClient.Up(spec, out why);
    }

    /// <summary>Waits until the driver announced itself (it has initialized its card), learns its
    /// MAC and sets up the buffers and grants of the run.</summary>
    private static int Attach(Nic nic)
    {
        var until = Stopwatch.GetTimestamp() + 20 * Stopwatch.Frequency;
        while (DsClient.RetrieveU32("drv.net." + nic.Label, out _) != Err.Ok)
        {
            if (Stopwatch.GetTimestamp() > until) return Err.ETIMEDOUT;
            Native.usleep(1000);
        }
        int r = DsClient.RetrieveLabel(nic.Label, out nic.Endpoint);
        if (r != Err.Ok) return r;
        var m = Message.Of(NetDriverCall.Conf, new NetConfRequest());
        r = IpcCall.SendRec(nic.Endpoint, ref m);
        if (r != Err.Ok || m.Type != Err.Ok) return r != Err.Ok ? r : m.Type;
        var conf = m.As<NetConfReply>();
        if (conf.Link != 1) return Err.ENODEV;
        nic.Mac = conf.MacBytes();
        nic.TxBuffer = ArenaHeap.Allocate(NetDriverCall.MaxFrame);
        nic.RxBuffer = ArenaHeap.Allocate(NetDriverCall.MaxFrame);
        if (nic.TxBuffer < 0 || nic.RxBuffer < 0) return Err.ENOMEM;
        nic.TxGrant = GrantTable.Current.Direct(nic.Endpoint, nic.TxBuffer, NetDriverCall.MaxFrame, Grant.Read);
        nic.RxGrant = GrantTable.Current.Direct(nic.Endpoint, nic.RxBuffer, NetDriverCall.MaxFrame, Grant.Write);
        if (nic.TxGrant < 0) return nic.TxGrant;
        if (nic.RxGrant < 0) return nic.RxGrant;
        r = Stats(nic, out var st);
        nic.ReplyFailures = st.ReplyFailures;
        return r;
    }

    private static int Stats(Nic nic, out NetStats stats)
    {
        var m = new Message(NetDriverCall.GetStat);
        int r = IpcCall.SendRec(nic.Endpoint, ref m);
        stats = m.As<NetStats>();
        return r != Err.Ok ? r : m.Type;
    }

    private static (long Median, long P99) Percentiles(List<long> samples)
    {
        if (samples.Count == 0) return (0, 0);
        var a = samples.ToArray();
        Array.Sort(a);
        return (a[a.Length / 2], a[Math.Min(a.Length - 1, a.Length * 99 / 100)]);
    }

    private static long Ns(long ticks) => ticks * 1_000_000_000 / Stopwatch.Frequency;

    private static string Error(string what, int r) => $"{what}: {Err.Name(r)}";

    private static int Fail(string what, int r)
    {
        Console.WriteLine($"error {what}: {Err.Name(r)}");
        return 1;
    }
}
