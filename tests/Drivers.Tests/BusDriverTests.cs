// Conformance of the trusted PCI-bus and IOMMU drivers' protocols (docs/machine.md, thesis
// §3.3.2-3.3.3), driven by puppets: one plays RS (it runs at RS's fixed slot, the only sender
// the bus drivers take ACLs and resets from), others play drivers. The machine has an RTL8139
// at 00:03.0 (io 0xC000, irq 11) and an ES1371-class function at 00:04.0 that no ACL grants.
// Checked: a driver sees and reserves only what its ACL grants, gets exactly the device's ports
// and IRQ from the reservation, may not touch protected configuration registers, and loses the
// device when RS says it is gone; the IOMMU driver maps a device's DMA only for its holder and
// only onto memory the holder pinned, and RS's reset empties the domain.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Drivers.Tests;

public sealed class BusDriverTests : IDisposable
{
    private const int Page = PhysicalMemory.PageSize;
    private static readonly PciAddress Nic = new(0, 3, 0), Audio = new(0, 4, 0);
    private readonly Board _board = new();
    private readonly TestSystem _sys;
    private readonly Puppet _rs;

    public BusDriverTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _sys = new TestSystem(output: output, board: _board);
        var (side, _) = PeerBackend.Pair();
        var nic = new Rtl8139Device([0x52, 0x54, 0, 1, 2, 3], _sys.Kernel.IrqLine(11), side, _board.Iommu.Port(Nic.RequesterId));
        Assert.Null(_board.PlugPci(Nic, nic.Config, nic, 0xC000, 11));
        var audio = new PciConfigSpace(0x1274, 0x1371, 0x040100, revision: 2, ioBarSize: 64, interruptPin: 1);
        Assert.Null(_board.PlugPci(Audio, audio, new Inert(), 0xC100, 10));
        BusDrivers.Start(_sys);
        _rs = _sys.StartPuppet("rs", TestSystem.Privileges(flags: PrivilegeBlock.AllTargets), slot: Endpoint.Rs);
    }

    public void Dispose() => _sys.Dispose();

    /// <summary>A driver puppet: the calls a PCI driver's policy gives (Fig. 3.7), no ports, no IRQs.</summary>
    private Puppet Driver(string name) => _sys.StartPuppet(name, TestSystem.Privileges(
        calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.MapDma, KernelCall.SetGrant, KernelCall.SysCtl],
        targets: [Endpoint.Pci, Endpoint.Iommu]));

    private static long Pack(long low, long high) => (uint)low | (high << 32);

    private static long DeviceEntry(ushort vendor, ushort device) =>
        vendor | (long)device << 16 | (long)PciAclEntry.KindDevice << 56;

    private string SetAcl(int endpoint, long entry) =>
        _rs.Ask($"sendrec3 {Endpoint.Pci} {PciCall.SetAcl} {Pack(endpoint, 1)} {entry} 0");

    /// <summary>A PciRequest {Bdf, Offset, Size, Value, Endpoint} as three longs.</summary>
    private static string Pci(Puppet p, int call, int bdf, int offset = 0, int size = 0, uint value = 0, int endpoint = 0) =>
        p.Ask($"sendrec3 {Endpoint.Pci} {call} {Pack(bdf, offset)} {Pack(size, value)} {endpoint}");

    private static string Iommu(Puppet p, int call, long a, long bus, long length) =>
        p.Ask($"sendrec3 {Endpoint.Iommu} {call} {a} {bus} {length}");

    /// <summary>The m_type of a sendrec answer (the server's result).</summary>
    private static int Result(string answer)
    {
        Assert.StartsWith("r OK ", answer);
        return (int)Puppet.LongField(answer, 3);
    }

    private static ulong Pin(Puppet p, int pages)
    {
        long buf = (Puppet.LongField(p.Ask($"heap {(pages + 1) * Page}"), 2) + Page - 1) & ~(long)(Page - 1);
        var a = p.Ask($"kcall {KernelCall.MapDma} {buf} {pages * Page}");
        Assert.StartsWith("r OK", a);
        return (ulong)Puppet.LongField(a, 6);
    }

    private bool Reachable(ulong bus, int pages) => _board.Iommu.IsRangeAllowed(Nic.RequesterId, bus >> PhysicalMemory.PageShift, pages);

    [Fact]
    public void Driver_SeesAndReservesOnlyWhatItsAclGrants_AndGetsExactlyThatDevicesPortsAndIrq()
    {
        var d = Driver("eth1");
        Assert.Equal(Err.Ok, Result(SetAcl(d.Endpoint, DeviceEntry(0x10EC, 0x8139))));
        var first = Pci(d, PciCall.FirstDev, 0);
        Assert.Equal(Err.Ok, Result(first));
        Assert.Equal(Pack(Nic.RequesterId, 0x10EC | 0x8139 << 16), Puppet.LongField(first, 4));
        Assert.Equal(Err.ENOENT, Result(Pci(d, PciCall.NextDev, Nic.RequesterId)));

        // Before the reservation it may read the granted card's configuration space (to choose
        // among devices with the same ids, as at_wini does by channel), not write it.
        var id = Pci(d, PciCall.ReadConfig, Nic.RequesterId, 0, 4);
        Assert.Equal(Err.Ok, Result(id));
        Assert.Equal(0x813910ECL, (Puppet.LongField(id, 5) >> 32) & 0xFFFFFFFF); // PciReply.Value
        Assert.Equal(Err.EPERM, Result(Pci(d, PciCall.WriteConfig, Nic.RequesterId, 0x04, 2, 5)));

        // Before the reservation it has no port and no IRQ of the card.
        Assert.StartsWith("r EPERM", d.Ask("in 49152 1"));
        Assert.StartsWith("r EPERM", d.Ask("irqctl 1 11 0"));
        var reserved = Pci(d, PciCall.Reserve, Nic.RequesterId);
        Assert.Equal(Err.Ok, Result(reserved));
        Assert.Equal(Pack(0xC000, 0x100), Puppet.LongField(reserved, 6));
        Assert.StartsWith("r OK", d.Ask("in 49152 1"));
        Assert.StartsWith("r OK", d.Ask("in 49407 1"));           // 0xC0FF, the window's last port
        Assert.StartsWith("r EPERM", d.Ask("in 49408 1"));        // 0xC100: the audio function's
        Assert.StartsWith("r OK", d.Ask("irqctl 1 11 0"));
        Assert.StartsWith("r EPERM", d.Ask("irqctl 1 10 1"));

        // The other function is neither visible nor reservable; protected registers stay so.
        long rejected = _sys.Kernel.Denials()[(int)Denial.RequestRejected];
        Assert.Equal(Err.EPERM, Result(Pci(d, PciCall.Reserve, Audio.RequesterId)));
        Assert.Equal(Err.EPERM, Result(Pci(d, PciCall.ReadConfig, Audio.RequesterId, 0, 4)));
        Assert.Equal(Err.EPERM, Result(Pci(d, PciCall.WriteConfig, Nic.RequesterId, 0x10, 4, 0xFFFFFFFF)));   // BAR0
        Assert.Equal(Err.EPERM, Result(Pci(d, PciCall.WriteConfig, Nic.RequesterId, 0x3C, 1, 5)));            // interrupt line
        Assert.Equal(_sys.Kernel.Denials()[(int)Denial.RequestRejected], rejected + 4);
        Assert.Equal(Err.Ok, Result(Pci(d, PciCall.WriteConfig, Nic.RequesterId, 0x04, 2, 5)));               // command: I/O + master
        var command = Pci(d, PciCall.ReadConfig, Nic.RequesterId, 0x04, 2);
        Assert.Equal(5, (Puppet.LongField(command, 5) >> 32) & 0xFFFF); // PciReply.Value
        Assert.Equal(0xC001u, _board.Pci.Read(Nic, 0x10, 4));   // BAR0 as firmware left it

        // A second driver with the same ACL finds the device held.
        var other = Driver("eth2");
        Assert.Equal(Err.Ok, Result(SetAcl(other.Endpoint, DeviceEntry(0x10EC, 0x8139))));
        Assert.Equal(Err.EBUSY, Result(Pci(other, PciCall.Reserve, Nic.RequesterId)));
        // RS says the first is gone: the device is free for the second.
        Assert.Equal(Err.Ok, Result(Pci(_rs, PciCall.DelAcl, 0, endpoint: d.Endpoint)));
        Assert.Equal(Err.Ok, Result(Pci(other, PciCall.Reserve, Nic.RequesterId)));
    }

    [Fact]
    public void Iommu_MapsOnlyForTheHolder_OnlyItsPinnedMemory_AndRsResetEmptiesTheDomain()
    {
        var d = Driver("eth1");
        var stranger = Driver("eth2");
        Assert.Equal(Err.Ok, Result(SetAcl(d.Endpoint, DeviceEntry(0x10EC, 0x8139))));
        Assert.Equal(Err.Ok, Result(Pci(d, PciCall.Reserve, Nic.RequesterId)));
        ulong mine = Pin(d, 2);
        ulong theirs = Pin(stranger, 1);
        long dma = _sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed];

        // Memory it did not pin (another process's, and frames nobody pinned) is refused.
        Assert.Equal(Err.EPERM, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, (long)theirs, Page)));
        Assert.Equal(Err.EPERM, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, (long)mine, 3 * Page)));  // one page too many
        Assert.Equal(Err.EPERM, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, 0x40000000, Page)));
        // Its own pinned memory, for a device it does not hold, is refused too.
        Assert.Equal(Err.EPERM, Result(Iommu(stranger, IommuCall.Map, Nic.RequesterId, (long)theirs, Page)));
        Assert.Equal(dma + 4, _sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed]);
        Assert.False(Reachable(theirs, 1));
        Assert.False(Reachable(mine, 2));

        // The holder's own pinned memory: exactly those frames.
        Assert.Equal(Err.Ok, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, (long)mine, 2 * Page)));
        Assert.True(Reachable(mine, 2));
        Assert.False(Reachable(mine + 2 * Page, 1));
        Assert.False(Reachable(theirs, 1));

        // Only RS resets, and a reset empties the domain.
        Assert.Equal(Err.EPERM, Result(Iommu(stranger, IommuCall.Reset, Pack(0, d.Endpoint), 0, 0)));
        Assert.True(Reachable(mine, 2));
        Assert.Equal(Err.Ok, Result(Iommu(_rs, IommuCall.Reset, Pack(0, d.Endpoint), 0, 0)));
        Assert.False(Reachable(mine, 1));
        Assert.False(Reachable(mine + Page, 1));
    }

    private static long ClassEntry(byte cls, byte sub, byte? iface = null) =>
        (long)cls << 32 | (long)sub << 40 | (long)(iface ?? 0) << 48
        | (long)(iface is null ? PciAclEntry.KindClass : PciAclEntry.KindClassInterface) << 56;

    [Fact]
    public void ClassAcls_GrantEveryFunctionOfThatClass_AndOnlyThose()
    {
        // `pci class 02/00` (Ethernet controllers): the RTL8139 (class 020000), not the audio function (040100).
        var net = Driver("net");
        Assert.Equal(Err.Ok, Result(SetAcl(net.Endpoint, ClassEntry(0x02, 0x00))));
        var first = Pci(net, PciCall.FirstDev, 0);
        Assert.Equal(Err.Ok, Result(first));
        Assert.Equal(Nic.RequesterId, (int)Puppet.LongField(first, 4));
        Assert.Equal(0x020000, (int)Puppet.LongField(first, 5));
        Assert.Equal(Err.ENOENT, Result(Pci(net, PciCall.NextDev, Nic.RequesterId)));
        Assert.Equal(Err.EPERM, Result(Pci(net, PciCall.Reserve, Audio.RequesterId)));
        // `pci class 04/01/00` (audio, interface 00) matches the audio function exactly;
        // interface 01 matches nothing.
        var audio = Driver("audio");
        Assert.Equal(Err.Ok, Result(SetAcl(audio.Endpoint, ClassEntry(0x04, 0x01, 0x00))));
        var found = Pci(audio, PciCall.FirstDev, 0);
        Assert.Equal(Audio.RequesterId, (int)Puppet.LongField(found, 4));
        Assert.Equal(Err.ENOENT, Result(Pci(audio, PciCall.NextDev, Audio.RequesterId)));
        var none = Driver("none");
        Assert.Equal(Err.Ok, Result(SetAcl(none.Endpoint, ClassEntry(0x04, 0x01, 0x01))));
        Assert.Equal(Err.ENOENT, Result(Pci(none, PciCall.FirstDev, 0)));
        // The audio function's reservation gives exactly its 64 ports at 0xC100 and IRQ 10.
        var reserved = Pci(audio, PciCall.Reserve, Audio.RequesterId);
        Assert.Equal(Err.Ok, Result(reserved));
        Assert.Equal(Pack(0xC100, 64), Puppet.LongField(reserved, 6));
        Assert.StartsWith("r OK", audio.Ask("in 49408 1"));   // 0xC100
        Assert.StartsWith("r EPERM", audio.Ask("in 49472 1")); // 0xC140
        Assert.StartsWith("r OK", audio.Ask("irqctl 1 10 0"));
    }

    [Fact]
    public void RequestsBeforeTheAcl_AreHeldUntilItArrives()
    {
        var d = Driver("eth1");
        var pending = d.AskAsync($"sendrec3 {Endpoint.Pci} {PciCall.FirstDev} 0 0 0");
        TestSystem.WaitUntil(() => _sys.Find(d.Endpoint) is { } p && p.State == ProcState.Receiving && p.BlockedOn == Endpoint.Pci, "the request to be held");
        Assert.False(pending.Wait(200));
        Assert.Equal(Err.Ok, Result(SetAcl(d.Endpoint, DeviceEntry(0x10EC, 0x8139))));
        var answer = Puppet.Await(pending);
        Assert.Equal(Err.Ok, Result(answer));
        Assert.Equal(Pack(Nic.RequesterId, 0x10EC | 0x8139 << 16), Puppet.LongField(answer, 4));
    }

    [Fact]
    public void HostileRequests_GetErrorCodes_AndTheDeviceHoldersNoticeNothing()
    {
        var d = Driver("eth1");
        Assert.Equal(Err.Ok, Result(SetAcl(d.Endpoint, DeviceEntry(0x10EC, 0x8139))));
        Assert.Equal(Err.Ok, Result(Pci(d, PciCall.Reserve, Nic.RequesterId)));
        ulong mine = Pin(d, 2);
        Assert.Equal(Err.Ok, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, (long)mine, 2 * Page)));

        // A hostile driver with an ACL for the audio function (so its requests are served, not
        // held) sends both bus drivers seeded random requests: any message type near theirs,
        // any payload.
        var h = Driver("hostile");
        Assert.Equal(Err.Ok, Result(SetAcl(h.Endpoint, DeviceEntry(0x1274, 0x1371))));
        int seed = Environment.TickCount;
        var rng = new Random(seed);
        long Any() => rng.Next(4) switch
        {
            0 => rng.NextInt64(),
            1 => rng.Next(-4, 300),
            2 => Pack(rng.Next(0, 0x10000), rng.Next(-8, 300)),
            _ => Pack(Nic.RequesterId, rng.Next(0, 256)),
        };
        for (int i = 0; i < 3000; i++)
        {
            int dst = rng.Next(2) == 0 ? Endpoint.Pci : Endpoint.Iommu;
            int type = (dst == Endpoint.Pci ? PciCall.Base : IommuCall.Base) + rng.Next(-2, 12);
            var a = h.Ask($"sendrec3 {dst} {type} {Any()} {Any()} {Any()}");
            Assert.True(a.StartsWith("r OK ", StringComparison.Ordinal), $"seed {seed}, request {i}: {a}");
        }

        // Both bus drivers still answer, and nothing of the holder's changed.
        Assert.Equal(Err.EPERM, Result(Pci(h, PciCall.Reserve, Nic.RequesterId)));
        Assert.True(Reachable(mine, 2), $"seed {seed}: the holder's DMA domain changed");
        Assert.Equal(Err.Ok, Result(Pci(d, PciCall.ReadConfig, Nic.RequesterId, 0, 4)));
        Assert.Equal(Err.Ok, Result(Iommu(d, IommuCall.Map, Nic.RequesterId, (long)mine, Page)));
        Assert.StartsWith("r OK", d.Ask("in 49152 1"));
        Assert.Equal(0xC001u, _board.Pci.Read(Nic, 0x10, 4));
        Assert.Equal(11u, _board.Pci.Read(Nic, 0x3C, 1));
    }

    /// <summary>An I/O window that answers nothing (the audio function's, never reached here).</summary>
    private sealed class Inert : Bulkhead.Machine.Io.IPortDevice
    {
        public string Name => "inert";

        public uint Read(int offset, int size) => 0xFFFFFFFF;

        public void Write(int offset, int size, uint value) { }
    }
}
