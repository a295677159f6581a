// The dp8390 network driver against the NE2000 model: an IoSpace with the card at 0x300
// (IRQ 9) wired to one side of a PeerBackend pair, the driver (bulkhead-image dp8390) started
// directly by the kernel without RS or DS, and a puppet client speaking NetDriverCall through
// grants. Conf answers the PROM's MAC, Write puts the byte-identical frame on the wire, a frame
// from the wire fills the posted Read buffer byte for byte, frames with no posted buffer are
// dropped and counted, and a driver without the card's ports fails its init cleanly.
using Bulkhead.Kernel;
using Bulkhead.Lib.Net;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Net;

namespace Bulkhead.Drivers.Tests.Net.Dp8390;

public sealed class Dp8390Tests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    private readonly TestSystem _sys;
    private readonly PeerBackend _wire;
    private readonly List<byte[]> _onWire = [];

    public Dp8390Tests()
    {
        var io = new IoSpace();
        _sys = new TestSystem(io: io);
        var (nicSide, wire) = PeerBackend.Pair();
        _wire = wire;
        _wire.Attach(f =>
        {
            lock (_onWire) _onWire.Add(f.ToArray());
        });
        Assert.True(io.Register(0x300, 0x20, new Ne2000(Mac, _sys.Kernel.IrqLine(9), nicSide)));
    }

    public void Dispose() => _sys.Dispose();

    private int StartDriver(bool withPorts = true)
    {
        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant,
            KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets);
        if (withPorts) p.AddIoRange(0x300, 0x20);
        p.AllowIrq(9);
        int ep = _sys.Kernel.Spawn(new ProcessSpec { Name = "eth0", Path = Image, Args = ["dp8390", "io=0x300", "irq=9"], Privileges = p });
        Assert.True(ep >= 0, $"spawn failed: {ep}");
        return ep;
    }

    private Puppet Client(string name = "inet") =>
        _sys.StartPuppet(name, TestSystem.Privileges(calls: [KernelCall.SetGrant, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets));

    private static byte[] Frame(byte[] destination, int length, byte seed)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        Peer.CopyTo(f, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    /// <summary>Posts a Read from <paramref name="client"/> and waits until the driver holds it.</summary>
    private Task<string> PostRead(Puppet client, int driver, int length = 1514)
    {
        var answer = client.AskAsync($"net read {driver} {length}");
        TestSystem.WaitUntil(() => _sys.Find(client.Endpoint) is { } p && p.State == ProcState.Receiving && p.BlockedOn == driver,
            "the read to be posted");
        return answer;
    }

    [Fact]
    public void Conf_AnswersThePromMacAndLinkUp()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", c.Ask($"net conf {drv}"));
        Assert.Equal("r OK EINVAL 000000000000 0 0", c.Ask($"net conf {drv} 64"));
    }

    [Fact]
    public void Write_PutsTheByteIdenticalFrameOnTheWire()
    {
        int drv = StartDriver();
        var c = Client();
        var frame = Frame(Peer, 1514, 3);
        Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(frame)}"));
        TestSystem.WaitUntil(() => { lock (_onWire) return _onWire.Count == 1; }, "the frame on the wire");
        lock (_onWire) Assert.Equal(frame, _onWire[0]);
        // Short frames are padded to 60 bytes; nonsense lengths are refused.
        var small = Frame(Peer, 20, 9);
        Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(small)}"));
        TestSystem.WaitUntil(() => { lock (_onWire) return _onWire.Count == 2; }, "the short frame");
        lock (_onWire)
        {
            Assert.Equal(60, _onWire[1].Length);
            Assert.Equal(small, _onWire[1][..20]);
        }
        Assert.Equal("r OK EINVAL", c.Ask($"net write {drv} 0102"));
        Assert.StartsWith("r OK OK 2 0 0 0 0", c.Ask($"net stat {drv}"));
    }

    [Fact]
    public void Read_EveryLengthAroundPageAndBurstBoundaries_ArrivesByteForByte()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        // The driver reads a frame's header with its first 124 bytes, then the rest; frames
        // cross 256-byte pages (with the 4-byte header and the FCS) at these lengths too.
        int[] lengths = [60, 61, 119, 120, 121, 123, 124, 125, 128, 247, 248, 249, 251, 252, 253, 256, 503, 504, 505, 1000, 1513, 1514];
        for (int i = 0; i < lengths.Length; i++)
        {
            var frame = Frame(Mac, lengths[i], (byte)(i * 13));
            var answer = PostRead(c, drv);
            _wire.Send(frame);
            Assert.Equal($"r OK OK {frame.Length} {Convert.ToHexString(frame)}", Puppet.Await(answer));
        }
        Assert.StartsWith($"r OK OK 0 {lengths.Length} 0 0 0 0", c.Ask($"net stat {drv}"));
    }

    [Fact]
    public void LosingItsPorts_MakesTheDriverPanic_SoThatRsCanRestartIt()
    {
        // The driver's parent of record may re-privilege it (Mutable): it takes the ports away.
        var parent = _sys.StartPuppet("rs", TestSystem.Privileges(calls: [KernelCall.PrivCtl, KernelCall.GetKsig], flags: PrivilegeBlock.AllTargets));
        var calls = new[] { KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl };
        var p = TestSystem.Privileges(calls: calls, flags: PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable);
        p.AddIoRange(0x300, 0x20);
        p.AllowIrq(9);
        int drv = _sys.Kernel.Spawn(new ProcessSpec { Name = "eth0", Path = Image, Args = ["dp8390", "io=0x300", "irq=9"], Privileges = p, Parent = parent.Endpoint });
        Assert.True(drv >= 0, $"spawn failed: {drv}");
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        Assert.Equal("r OK", parent.Ask($"privctl {drv} {Trap.MaskAll} {PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable} - {string.Join(',', calls)}"));
        long denied = _sys.Kernel.Denials()[(int)Denial.DevicePortNotAllowed];
        _wire.Send(Frame(Mac, 100, 1)); // its interrupt handler now touches ports it no longer has
        TestSystem.WaitUntil(() => _sys.Find(drv) is null or { State: ProcState.Zombie }, "the driver to give up");
        Assert.Equal($"r OK {drv} {ExitInfo.Exited} 1", parent.Ask("ksig"));
        Assert.Equal(denied + 1, _sys.Kernel.Denials()[(int)Denial.DevicePortNotAllowed]);
        Assert.True(_sys.Console.Has("lost the card: port access refused (EPERM)"), "no panic message");
    }

    [Fact]
    public void Burst_OverflowsTheRing_DriverRecovers_AndTrafficIsExactAfterwards()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        // 400 frames back to back with nobody reading: the 58-page ring overflows (ISR.OVW) and
        // the driver runs the datasheet's recovery.
        for (int i = 0; i < 400; i++) _wire.Send(Frame(Mac, 1000, (byte)i));
        var stat = Array.Empty<string>();
        TestSystem.WaitUntil(() => (stat = c.Ask($"net stat {drv}").Split(' '))[8] != "0", "an overrun to be counted"); // r OK OK sent received dropped rxerr txerr overruns
        // The receive queue kept frames of the burst (in order, byte for byte, at most
        // RxQueueFrames): reads are answered from it at once until it is empty; the read that
        // then waits gets a marker sent only now (sent earlier, a full queue would drop it).
        var marker = Frame(Mac, 777, 0xEE);
        int previous = -1, queued = 0;
        while (true)
        {
            var pending = c.AskAsync($"net read {drv} 1514");
            if (!pending.Wait(1000))
            {
                TestSystem.WaitUntil(() => _sys.Find(c.Endpoint) is { State: ProcState.Receiving } p && p.BlockedOn == drv, "the read to be posted");
                _wire.Send(marker);
                Assert.Equal($"r OK OK 777 {Convert.ToHexString(marker)}", Puppet.Await(pending));
                break;
            }
            string got = pending.Result;
            int seed = Enumerable.Range(previous + 1, 400 - previous - 1).FirstOrDefault(k => got == $"r OK OK 1000 {Convert.ToHexString(Frame(Mac, 1000, (byte)k))}", -1);
            Assert.True(seed > previous, $"queued frame {queued}: {got[..Math.Min(got.Length, 40)]}");
            previous = seed;
            queued++;
            Assert.True(queued <= NetDriverCall.RxQueueFrames, "more frames than the receive queue holds");
        }
        Assert.True(queued > 0, "the receive queue kept no frame of the burst");
        for (int i = 0; i < 30; i++)
        {
            var frame = Frame(Mac, 60 + 97 * i % 1455, (byte)(i + 1));
            var answer = PostRead(c, drv);
            _wire.Send(frame);
            Assert.Equal($"r OK OK {frame.Length} {Convert.ToHexString(frame)}", Puppet.Await(answer));
        }
        var after = c.Ask($"net stat {drv}").Split(' ');
        Assert.Equal((30 + queued + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), after[4]); // received
        Assert.Equal("0", after[6]);  // no receive errors: every header it read was sound
    }

    [Fact]
    public void Read_ReturnsAFrameFromTheWireByteForByte()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        var frame = Frame(Mac, 1000, 5);
        var answer = PostRead(c, drv);
        _wire.Send(frame);
        Assert.Equal($"r OK OK 1000 {Convert.ToHexString(frame)}", Puppet.Await(answer));
        // Broadcast is accepted too.
        var bcast = Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 64, 8);
        answer = PostRead(c, drv);
        _wire.Send(bcast);
        Assert.Equal($"r OK OK 64 {Convert.ToHexString(bcast)}", Puppet.Await(answer));
        Assert.StartsWith("r OK OK 0 2 0 0 0", c.Ask($"net stat {drv}"));
    }

    [Fact]
    public void ManyFramesInARow_BothWays_AreCounted()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        const int N = 40;
        for (int i = 0; i < N; i++)
        {
            var rx = Frame(Mac, 60 + (i * 37) % 1455, (byte)i);
            var answer = PostRead(c, drv);
            _wire.Send(rx);
            Assert.Equal($"r OK OK {rx.Length} {Convert.ToHexString(rx)}", Puppet.Await(answer));
            var tx = Frame(Peer, 60 + (i * 53) % 1455, (byte)(i + 100));
            Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(tx)}"));
            TestSystem.WaitUntil(() => { lock (_onWire) return _onWire.Count == i + 1; }, "frame " + i);
            lock (_onWire) Assert.Equal(tx, _onWire[i]);
        }
        // No buffer posted: the receive queue keeps RxQueueFrames frames, the rest are dropped
        // and counted, and the ring keeps working; reads then take the queued frames in order.
        const int Q = NetDriverCall.RxQueueFrames;
        for (int i = 0; i < Q + 5; i++)
        {
            _wire.Send(Frame(Mac, 100 + i, (byte)i));
            if (i < Q) TestSystem.WaitUntil(() => c.Ask($"net stat {drv}").StartsWith($"r OK OK {N} {N} 0 ", StringComparison.Ordinal), "no drop");
        }
        TestSystem.WaitUntil(() => c.Ask($"net stat {drv}").StartsWith($"r OK OK {N} {N} 5 ", StringComparison.Ordinal), "drops counted");
        for (int i = 0; i < Q; i++)
        {
            var queued = Frame(Mac, 100 + i, (byte)i);
            Assert.Equal($"r OK OK {queued.Length} {Convert.ToHexString(queued)}", c.Ask($"net read {drv} 1514"));
        }
        Assert.StartsWith($"r OK OK {N} {N + Q} 5 ", c.Ask($"net stat {drv}"));
        var last = Frame(Mac, 200, 77);
        var reply = PostRead(c, drv);
        _wire.Send(last);
        Assert.Equal($"r OK OK 200 {Convert.ToHexString(last)}", Puppet.Await(reply));
    }

    [Fact]
    public void SecondReadFromTheSameClient_IsBusy_AndBadGrantsAreRefused()
    {
        int drv = StartDriver();
        var c = Client();
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));
        Assert.Equal("r OK EINVAL", c.Ask($"net read {drv} 0"));
        Assert.Equal("r OK EINVAL", c.Ask($"net read {drv} 5000"));
        // A second client's reads queue behind the first one's.
        var c2 = Client("inet2");
        var first = PostRead(c, drv);
        var second = PostRead(c2, drv);
        var f1 = Frame(Mac, 70, 1);
        var f2 = Frame(Mac, 80, 2);
        _wire.Send(f1);
        Assert.Equal($"r OK OK 70 {Convert.ToHexString(f1)}", Puppet.Await(first));
        _wire.Send(f2);
        Assert.Equal($"r OK OK 80 {Convert.ToHexString(f2)}", Puppet.Await(second));
    }

    [Fact]
    public void WithoutTheCardsPorts_InitFailsCleanly()
    {
        int drv = StartDriver(withPorts: false);
        TestSystem.WaitUntil(() => _sys.Find(drv) is not { } p || p.State == ProcState.Zombie, "the driver to exit");
        Assert.Equal(1, _sys.Kernel.Denials()[(int)Denial.DevicePortNotAllowed]);
        TestSystem.WaitUntil(() => _sys.Console.Has("initialization failed"), "the driver's diagnostic");
        lock (_onWire) Assert.Empty(_onWire);
    }
}
