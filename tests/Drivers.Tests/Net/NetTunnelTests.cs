// Two Bulkhead systems joined by a UDP tunnel (issue 4: "both drivers exchanging raw Ethernet
// frames … with each other over the UDP tunnel"). Each side is a kernel of its own in this test
// process, with its own I/O space and network card, PM, DS and RS, the card's real driver
// started by RS under its etc/drivers.conf policy, and two puppet clients (one posts reads,
// one writes). The cards' backends are UdpTunnelBackends on 127.0.0.1 with two free ports,
// each aimed at the other. The card on each side is a parameter (NetTestKit.Card): NE2000 with
// dp8390 against itself and against the RTL8139 with rtl8139, in both roles.
//
// Frames written on one side arrive byte for byte in a read posted on the other, both ways,
// broadcast and unicast, 60..1514 bytes; a frame for a third MAC is filtered by the card. Then
// side A's driver is SIGKILLed from outside (kill -9 of its host process) while frames flow
// both ways: RS restarts it under a new endpoint, the new instance reinitializes the card, and
// traffic resumes byte for byte while side B's driver never notices. Frames in flight at the
// kill may be lost; a read on B left waiting by it must complete with a frame A really sent.
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Net;
using Xunit.Abstractions;
using static Bulkhead.Drivers.Tests.Net.NetTestKit;

namespace Bulkhead.Drivers.Tests.Net;

public sealed class NetTunnelTests(ITestOutputHelper output)
{
    private static readonly byte[] MacA = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] MacB = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];
    private static readonly byte[] Stranger = [0x52, 0x54, 0x00, 0x99, 0x99, 0x99];
    private const string Label = "eth0";
    private const int Deadline = 30_000;

    /// <summary>Driver on side A, driver on side B.</summary>
    public static TheoryData<string, string> Pairs => new() { { "dp8390", "dp8390" }, { "dp8390", "rtl8139" }, { "rtl8139", "dp8390" } };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Frames_CrossTheTunnelBothWays_ByteForByte(string a, string b)
    {
        using var net = new Tunnel(CardNamed(a), CardNamed(b), output);
        int[] sizes = [60, 61, 64, 100, 128, 255, 256, 511, 512, 1000, 1024, 1499, 1500, 1513, 1514];
        int fromA = 0, fromB = 0;
        for (int i = 0; i < 2 * sizes.Length; i++)
        {
            var (from, to) = i % 2 == 0 ? (net.A, net.B) : (net.B, net.A);
            var frame = Frame(i % 3 == 0 ? Broadcast : to.Mac, from.Mac, sizes[i / 2], (byte)(i * 11));
            Transfer(from, to, frame);
            if (from == net.A) fromA++;
            else fromB++;
        }

        // A frame for a MAC that is neither card's is dropped by B's card: the read gets the next one.
        var read = PostRead(net.B.Sys, net.B.Reader, net.B.Driver);
        Assert.Equal("r OK OK", net.A.Write(Frame(Stranger, MacA, 200, 1)));
        var mine = Frame(MacB, MacA, 300, 2);
        Assert.Equal("r OK OK", net.A.Write(mine));
        Assert.Equal(ReadAnswer(mine), Puppet.Await(read, Deadline));
        fromA += 2;

        // Every frame sent was counted once on its way out and once on its way in; none dropped.
        Assert.Equal($"r OK OK {fromA} {fromB} 0 0 0 0 0", net.A.Writer.Ask($"net stat {net.A.Driver}"));
        Assert.Equal($"r OK OK {fromB} {fromA - 1} 0 0 0 0 0", net.B.Writer.Ask($"net stat {net.B.Driver}"));
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void DriverKilledMidTraffic_IsRestarted_AndTrafficResumes(string a, string b)
    {
        using var net = new Tunnel(CardNamed(a), CardNamed(b), output);
        var (sideA, sideB) = (net.A, net.B);
        for (int i = 0; i < 4; i++)
        {
            Transfer(sideA, sideB, Frame(MacB, MacA, 60 + i * 300, (byte)i));
            Transfer(sideB, sideA, Frame(MacA, MacB, 1514 - i * 300, (byte)(i + 50)));
        }
        int first = sideA.Driver, secondB = sideB.Driver;
        var proc = sideA.Sys.Find(first);
        Assert.True(proc is { HostPid: > 0 }, "side A's driver has no host process");

        // Frames both ways, one pair per iteration, from another thread; it stops at the first
        // request that fails (A's driver is gone). Everything A ever sent is remembered.
        var sentByA = new ConcurrentBag<string>();
        int iterations = 0;
        Task<string>? pendingOnB = null;
        var traffic = Task.Run(() =>
        {
            for (int i = 0; ; i++)
            {
                var readA = PostRead(sideA.Sys, sideA.Reader, first);
                if (readA.IsCompleted) return;                            // A's driver is gone
                var readB = PostRead(sideB.Sys, sideB.Reader, secondB);
                var toB = Frame(i % 4 == 0 ? Broadcast : MacB, MacA, 60 + (i * 97) % 1455, (byte)i);
                sentByA.Add(ReadAnswer(toB));
                if (sideA.Write(toB, first) != "r OK OK")
                {
                    pendingOnB = readB;                                   // may or may not get toB
                    Puppet.Await(readA, Deadline);                        // fails: the driver is dead
                    return;
                }
                var toA = Frame(MacA, MacB, 1514 - (i * 89) % 1455, (byte)(i + 100));
                Assert.Equal("r OK OK", sideB.Write(toA, secondB));
                Assert.Equal(ReadAnswer(toB), Puppet.Await(readB, Deadline));
                string got = Puppet.Await(readA, Deadline);
                if (!got.StartsWith("r OK OK", StringComparison.Ordinal)) return; // cut off by the kill
                Assert.Equal(ReadAnswer(toA), got);
                Interlocked.Increment(ref iterations);
            }
        });
        TestSystem.WaitUntil(() => Volatile.Read(ref iterations) >= 5 || traffic.IsCompleted, "traffic to flow", Deadline);
        Assert.False(traffic.IsCompleted, "traffic stopped before the kill");
        Assert.Equal(0, Native.kill(proc!.Value.HostPid, 9));
        Assert.True(traffic.Wait(60_000), "the traffic did not notice the dead driver");
        traffic.GetAwaiter().GetResult(); // surfaces a corrupted frame, if any
        output.WriteLine($"{iterations} exchanges before the kill");

        // RS restarted it under a new endpoint and says why; side B never noticed.
        string[] row = [];
        TestSystem.WaitUntil(() => (row = sideA.Rs.Row(Label)) is { Length: >= 6 } r && r[2] == "running" && r[1] != Num(first),
            "side A's driver running again under a new endpoint", Deadline);
        Assert.Equal("terminated", row[4]);
        Assert.True(int.Parse(row[3], CultureInfo.InvariantCulture) >= 1, string.Join(' ', row));
        sideA.Driver = int.Parse(row[1], CultureInfo.InvariantCulture);
        var rowB = sideB.Rs.Row(Label);
        Assert.True(rowB is [_, var epB, "running", "0", ..] && epB == Num(secondB), $"side B's driver was disturbed: {string.Join(' ', rowB)}");

        // The new instance reprogrammed the card: its MAC, and frames both ways again.
        Assert.Equal($"r OK OK {Convert.ToHexString(MacA)} 1 1", sideA.Writer.Ask($"net conf {sideA.Driver}"));
        int drained = 0;
        if (pendingOnB is { } pending)
        {
            // A read on B that the kill left waiting completes with the next frame from A.
            for (; !pending.IsCompleted && drained < 10; drained++)
            {
                var f = Frame(MacB, MacA, 100, (byte)(200 + drained));
                sentByA.Add(ReadAnswer(f));
                Assert.Equal("r OK OK", sideA.Write(f));
                pending.Wait(5_000);
            }
            string got = Puppet.Await(pending, Deadline);
            Assert.True(sentByA.Contains(got), $"a read on B completed with a frame A never sent: {got}");
            output.WriteLine($"a read on B left waiting by the kill completed after {drained} new frames from A");
        }
        const int After = 10;
        for (int i = 0; i < After; i++)
        {
            Transfer(sideA, sideB, Frame(i % 2 == 0 ? MacB : Broadcast, MacA, 60 + i * 145, (byte)(i + 7)));
            Transfer(sideB, sideA, Frame(i % 2 == 0 ? MacA : Broadcast, MacB, 1514 - i * 145, (byte)(i + 9)));
        }
        Assert.StartsWith($"r OK OK {drained + After} {After} ", sideA.Writer.Ask($"net stat {sideA.Driver}"));
        Assert.StartsWith("r E", sideA.Writer.Ask($"net stat {first}")); // the old endpoint is dead for good
    }

    /// <summary>One frame from <paramref name="from"/>'s writer to a read posted on <paramref name="to"/>, byte for byte.</summary>
    private static void Transfer(Side from, Side to, byte[] frame)
    {
        var read = PostRead(to.Sys, to.Reader, to.Driver);
        Assert.Equal("r OK OK", from.Write(frame));
        Assert.Equal(ReadAnswer(frame), Puppet.Await(read, Deadline));
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>One system of the pair: its card and driver, a reader and a writer puppet.</summary>
    private sealed class Side : IDisposable
    {
        public Side(string name, Card card, byte[] mac, INicBackend backend, ITestOutputHelper output)
        {
            Name = name;
            Mac = mac;
            Rs = card.Boot(output, backend, mac);
            try
            {
                var user = TestSystem.Privileges(traps: Trap.MaskAll, calls: [KernelCall.SetGrant, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets);
                Reader = Sys.StartPuppet("reader", user);
                var up = Rs.Manager.Ask($"rs-spec up {card.UpSpec(Label)}");
                Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", $"side {name}: {up}");
                Driver = (int)Puppet.LongField(up, 3);
                Rs.WaitState(Label, "running");
                Assert.Equal($"r OK OK {Convert.ToHexString(mac)} 1 1", Writer.Ask($"net conf {Driver}"));
            }
            catch
            {
                Rs.Dispose();
                throw;
            }
        }

        public string Name { get; }
        public byte[] Mac { get; }
        public RsSystem Rs { get; }
        public TestSystem Sys => Rs.Sys;
        public Puppet Reader { get; }
        public Puppet Writer => Rs.Client;
        /// <summary>The driver's current endpoint (changes when RS restarts it).</summary>
        public int Driver { get; set; }

        public string Write(byte[] frame, int? driver = null) => Writer.Ask($"net write {driver ?? Driver} {Convert.ToHexString(frame)}", Deadline);

        public override string ToString() => Name;

        public void Dispose() => Rs.Dispose();
    }

    /// <summary>Two sides whose cards reach each other through UDP tunnels on 127.0.0.1.</summary>
    private sealed class Tunnel : IDisposable
    {
        private readonly UdpTunnelBackend _wireA, _wireB;
        private readonly Side? _a, _b;

        public Tunnel(Card a, Card b, ITestOutputHelper output)
        {
            var socketA = Bind();
            var socketB = Bind();
            _wireA = new UdpTunnelBackend(socketA, (IPEndPoint)socketB.LocalEndPoint!);
            _wireB = new UdpTunnelBackend(socketB, (IPEndPoint)socketA.LocalEndPoint!);
            output.WriteLine($"side A: {a} at udp {_wireA.LocalEndPoint}, side B: {b} at udp {_wireB.LocalEndPoint}");
            try
            {
                _a = new Side("A", a, MacA, _wireA, output);
                _b = new Side("B", b, MacB, _wireB, output);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Side A => _a!;
        public Side B => _b!;

        private static Socket Bind()
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return s;
        }

        public void Dispose()
        {
            try
            {
                _a?.Dispose();
            }
            finally
            {
                try
                {
                    _b?.Dispose();
                }
                finally
                {
                    _wireA.Dispose();
                    _wireB.Dispose();
                }
            }
        }
    }
}
