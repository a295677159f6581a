// The dp8390 driver against the NE2000 model wired to a real Linux TAP in a network namespace
// the test makes (TapLink; root only, skipped with the reason elsewhere). A frame python3 sends
// from an AF_PACKET socket inside the namespace arrives in the puppet's posted `net read` byte
// for byte, and a `net write` frame is captured by python3 on the Linux side byte for byte.
using Bulkhead.Kernel;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Io;

namespace Bulkhead.Drivers.Tests.Net.Dp8390;

public sealed class Dp8390TapTests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    private TestSystem? _sys;
    private TapLink? _tap;

    public void Dispose()
    {
        _sys?.Dispose();
        _tap?.Dispose();
    }

    [TapFact]
    public void Driver_ExchangesFramesWithLinuxThroughATap()
    {
        _tap = TapLink.Open();
        var io = new IoSpace();
        _sys = new TestSystem(io: io);
        Assert.True(io.Register(0x300, 0x20, new Ne2000(Mac, _sys.Kernel.IrqLine(9), _tap.Backend)));
        _tap.Up();

        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant,
            KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets);
        p.AddIoRange(0x300, 0x20);
        p.AllowIrq(9);
        int drv = _sys.Kernel.Spawn(new ProcessSpec { Name = "eth0", Path = Image, Args = ["dp8390", "io=0x300", "irq=9"], Privileges = p });
        Assert.True(drv >= 0, $"spawn failed: {drv}");
        var c = _sys.StartPuppet("inet", TestSystem.Privileges(calls: [KernelCall.SetGrant, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets));
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));

        // Linux -> driver. Frames Linux emits on its own (IPv6 multicast) are not for our MAC,
        // so the card's address filter drops them.
        var inbound = TapLink.Frame(Mac, Peer, 300, 0x31);
        var answer = c.AskAsync($"net read {drv} 1514");
        TestSystem.WaitUntil(() => _sys.Find(c.Endpoint) is { } q && q.State == ProcState.Receiving && q.BlockedOn == drv,
            "the read to be posted");
        _tap.SendFromLinux(inbound);
        Assert.Equal($"r OK OK 300 {Convert.ToHexString(inbound)}", Puppet.Await(answer));

        // Driver -> Linux.
        var outbound = TapLink.Frame(Peer, Mac, 200, 0x77);
        var captured = _tap.Capture(() => Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(outbound)}")));
        Assert.Equal(outbound, captured);
    }
}
