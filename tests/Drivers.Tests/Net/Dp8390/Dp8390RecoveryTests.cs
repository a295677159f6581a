// Recovery of the dp8390 network driver under RS: the NE2000 model at 0x300 (IRQ 9) wired to
// a PeerBackend pair, the driver started by RS (`rs up ... policy=dp8390`, so its privileges
// come from etc/drivers.conf), a client puppet moving frames both ways, and the driver's host
// process killed with SIGKILL while traffic is flowing. RS must restart it (new endpoint,
// reason "terminated"), the new instance must reset and reprogram the card, and traffic must
// resume byte-exact in both directions. Frames in flight during the kill may be lost; only
// frames sent after the new instance is up are asserted on.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Net;

namespace Bulkhead.Drivers.Tests.Net.Dp8390;

public sealed class Dp8390RecoveryTests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];

    private readonly RsSystem _rs;
    private readonly PeerBackend _wire;
    private readonly List<byte[]> _onWire = [];

    public Dp8390RecoveryTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        var io = new IoSpace();
        _rs = new RsSystem(output, io);
        var (nicSide, wire) = PeerBackend.Pair();
        _wire = wire;
        _wire.Attach(f =>
        {
            lock (_onWire) _onWire.Add(f.ToArray());
        });
        Assert.True(io.Register(0x300, 0x20, new Ne2000(Mac, _rs.Sys.Kernel.IrqLine(9), nicSide)));
    }

    public void Dispose() => _rs.Dispose();

    private static byte[] Frame(byte[] destination, int length, byte seed) => NetTestKit.Frame(destination, Peer, length, seed);

    private int WireCount()
    {
        lock (_onWire) return _onWire.Count;
    }

    private Task<string> PostRead(int driver) => NetTestKit.PostRead(_rs.Sys, _rs.Client, driver);

    /// <summary>One verified exchange: a frame from the peer into a posted read, a frame from the client onto the wire.</summary>
    private void RoundTrip(int driver, int i)
    {
        var rx = Frame(Mac, 60 + (i * 37) % 1455, (byte)i);
        var answer = PostRead(driver);
        _wire.Send(rx);
        Assert.Equal($"r OK OK {rx.Length} {Convert.ToHexString(rx)}", Puppet.Await(answer));
        int before = WireCount();
        var tx = Frame(Peer, 60 + (i * 53) % 1455, (byte)(i + 100));
        Assert.Equal("r OK OK", _rs.Client.Ask($"net write {driver} {Convert.ToHexString(tx)}"));
        TestSystem.WaitUntil(() => WireCount() == before + 1, "frame " + i + " on the wire");
        lock (_onWire) Assert.Equal(tx, _onWire[before]);
    }

    [Fact]
    public void KilledMidTraffic_IsRestarted_ReinitializesTheCard_AndTrafficResumes()
    {
        var up = _rs.Manager.Ask($"rs-spec up label=eth0;binary={RsSystem.Image};args=dp8390 io=0x300 irq=9;policy=dp8390");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        int first = (int)Puppet.LongField(up, 3);
        _rs.WaitState("eth0", "running");
        Assert.Equal(first.ToString(System.Globalization.CultureInfo.InvariantCulture), _rs.Row("eth0")[1]);

        var c = _rs.Client;
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", c.Ask($"net conf {first}"));
        for (int i = 0; i < 10; i++) RoundTrip(first, i);

        NetTestKit.KillMidTraffic(c, first, _wire, Mac, Peer, () => Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(first, 9)));

        // RS restarts it under a new endpoint, and says why.
        string[] row = [];
        TestSystem.WaitUntil(() => (row = _rs.Row("eth0")) is { Length: >= 6 } r && r[2] == "running" && r[1] != first.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "eth0 running again under a new endpoint");
        Assert.Equal("terminated", row[4]);
        Assert.True(int.Parse(row[3], System.Globalization.CultureInfo.InvariantCulture) >= 1, string.Join(' ', row));
        int second = int.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(first, second);
        Assert.True(_rs.Sys.Find(first) is not { } old || old.Endpoint != first);

        // The new instance reset and reprogrammed the card: its MAC, reception and transmission work.
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", c.Ask($"net conf {second}"));
        for (int i = 0; i < 20; i++) RoundTrip(second, 200 + i);
        Assert.StartsWith("r OK OK 20 20 ", c.Ask($"net stat {second}"));
        // The old endpoint is gone for good.
        Assert.StartsWith("r E", c.Ask($"net stat {first}"));
    }
}
