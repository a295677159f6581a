// The rtl8139 driver under RS on a machine with a PCI bus and an IOMMU (thesis §3.4, Figs.
// 3.7–3.8): the RTL8139 model plugged in at 00:03.0 (I/O 0xC000, IRQ 11) behind the IOMMU,
// the trusted PCI-bus and IOMMU drivers at their fixed slots, and the driver started by RS with
// etc/drivers.conf's rtl8139 policy — which lists no port and no IRQ: it gets them only from
// the PCI-bus driver, and its device reaches only the memory it pinned, because the IOMMU
// driver programmed nothing else. Frames are checked byte for byte against an in-process peer;
// the driver is killed with SIGKILL in the middle of traffic and must come back and carry on.
using System.Globalization;
using System.Text.RegularExpressions;
using Bulkhead.Lib.Host;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Drivers.Tests.Net.Rtl8139;

public sealed partial class Rtl8139Tests : IDisposable
{
    /// <summary>The driver's DMA region: a 64 KiB receive ring with 16 + 1536 bytes of slack
    /// (17 pages), then four 2 KiB transmit buffers (2 pages).</summary>
    private const int DmaPages = 19;

    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x81, 0x39, 0x01];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly PciAddress Address = new(0, 3, 0);
    private const int IoBase = 0xC000, Irq = 11;

    private readonly Board _board = new();
    private readonly RsSystem _rs;
    private readonly PeerBackend _wire;
    private Rtl8139Device? _nic;
    private readonly List<byte[]> _onWire = [];

    public Rtl8139Tests(Xunit.Abstractions.ITestOutputHelper output)
    {
        var (nicSide, wire) = PeerBackend.Pair();
        _wire = wire;
        _wire.Attach(f =>
        {
            lock (_onWire) _onWire.Add(f.ToArray());
        });
        _rs = new RsSystem(output, _board, kernel =>
        {
            _nic = new Rtl8139Device(Mac, kernel.IrqLine(Irq), nicSide, _board.Iommu.Port(Address.RequesterId));
            Assert.Null(_board.PlugPci(Address, _nic.Config, _nic, IoBase, Irq));
        });
    }

    public void Dispose() => _rs.Dispose();

    private static byte[] Frame(byte[] destination, int length, byte seed) => NetTestKit.Frame(destination, Peer, length, seed);

    private int WireCount()
    {
        lock (_onWire) return _onWire.Count;
    }

    private int Up()
    {
        var up = _rs.Manager.Ask($"rs-spec up label=eth1;binary={RsSystem.Image};args=rtl8139;policy=rtl8139");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        _rs.WaitState("eth1", "running");
        return int.Parse(_rs.Row("eth1")[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Bus addresses the driver instances reported ("rtl8139: ... dma 0x..."), in order.</summary>
    private List<ulong> DmaAddresses() =>
        DmaLine().Matches(string.Join("\n", _rs.Sys.Console.Lines)).Select(x => ulong.Parse(x.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"rtl8139: 00:03\.0 io 0xc000 irq 11 mac 52:54:00:81:39:01 dma 0x([0-9a-f]+)")]
    private static partial Regex DmaLine();

    private bool DomainAllows(ulong bus, int bytes)
    {
        for (ulong f = bus >> PhysicalMemory.PageShift; f <= (bus + (ulong)bytes - 1) >> PhysicalMemory.PageShift; f++)
            if (!_board.Iommu.IsAllowed(Address.RequesterId, f)) return false;
        return true;
    }

    /// <summary>One verified exchange: a frame from the peer into a posted read, a frame from the client onto the wire.</summary>
    private void RoundTrip(int driver, int i)
    {
        var c = _rs.Client;
        var rx = Frame(i % 5 == 0 ? [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] : Mac, 60 + (i * 37) % 1455, (byte)i);
        var answer = NetTestKit.PostRead(_rs.Sys, c, driver);
        _wire.Send(rx);
        Assert.Equal($"r OK OK {rx.Length} {Convert.ToHexString(rx)}", Puppet.Await(answer));
        int before = WireCount();
        var tx = Frame(Peer, 60 + (i * 53) % 1455, (byte)(i + 100));
        Assert.Equal("r OK OK", c.Ask($"net write {driver} {Convert.ToHexString(tx)}"));
        TestSystem.WaitUntil(() => WireCount() == before + 1, "frame " + i + " on the wire");
        lock (_onWire) Assert.Equal(tx, _onWire[before]);
    }

    /// <summary>Thesis §3.4: the PCI-bus driver has the driver's ACL before the driver's first
    /// IPC. With the PCI-bus driver stopped for a while, RS keeps the new instance held until the
    /// bus driver has answered the ACL, so the driver's first PCI request is answered at once —
    /// never held by the PCI-bus driver for want of an ACL — at the first start and at restarts.</summary>
    [Fact]
    public void Driver_FirstPciRequest_FindsItsAcl_EvenWhenThePciBusDriverIsSlow()
    {
        int pci = _rs.Sys.Find(Endpoint.Pci)!.Value.HostPid;
        int previous = Endpoint.None;
        for (int start = 0; start < 3; start++)
        {
            Assert.Equal(0, Native.kill(pci, 19)); // SIGSTOP
            int ep;
            try
            {
                if (start == 0)
                {
                    var up = _rs.Manager.Ask($"rs-spec up label=eth1;binary={RsSystem.Image};args=rtl8139;policy=rtl8139");
                    Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
                    ep = (int)Puppet.LongField(up, 3);
                }
                else
                {
                    Assert.Equal(0, Native.kill(_rs.Sys.Find(previous)!.Value.HostPid, 9));
                    TestSystem.WaitUntil(() => _rs.Row("eth1") is { Length: > 1 } r && r[1] != "-" &&
                                               int.Parse(r[1], CultureInfo.InvariantCulture) != previous, "a new eth1 instance");
                    ep = int.Parse(_rs.Row("eth1")[1], CultureInfo.InvariantCulture);
                }
                RsKit.Holds(() => _rs.Sys.Find(ep)?.State == ProcState.Held, 500, "eth1 held while the PCI-bus driver has not answered its ACL");
            }
            finally
            {
                Native.kill(pci, 18); // SIGCONT
            }
            _rs.WaitState("eth1", "running");
            previous = ep;
        }
        Assert.Equal(3, DmaAddresses().Count);
        Assert.False(_rs.Sys.Console.Has("holding a request of endpoint"), _rs.Console());
        Assert.False(_rs.Sys.Console.Has("released after"), _rs.Console());
    }

    [Fact]
    public void Driver_GetsItsDeviceFromThePciBusDriver_AndExchangesFramesByDmaThroughTheIommu()
    {
        int ep = Up();
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", _rs.Client.Ask($"net conf {ep}"));
        for (int i = 0; i < 30; i++) RoundTrip(ep, i);
        Assert.StartsWith("r OK OK 30 30 ", _rs.Client.Ask($"net stat {ep}"));

        // Its device reaches exactly the region it pinned, and nothing was refused.
        var dma = DmaAddresses();
        Assert.Single(dma);
        Assert.True(DomainAllows(dma[0], DmaPages * 4096));
        Assert.False(_board.Iommu.IsAllowed(Address.RequesterId, (dma[0] >> PhysicalMemory.PageShift) + DmaPages));
        Assert.Equal(0, _board.Iommu.Denied(Address.RequesterId));
    }

    [Fact]
    public void ReadAnswer_WaitsForAClientThatIsBusyElsewhere_NothingIsLost()
    {
        int ep = Up();
        var c = _rs.Client;
        // The client posts a read without waiting for it (SEND), then is busy writing when the
        // frame arrives: the driver must neither block on it nor drop the answer (SENDA).
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("r OK", c.Ask($"net post {ep} 1514"));
            var rx = Frame(Mac, 60 + 71 * i, (byte)i);
            _wire.Send(rx);
            TestSystem.WaitUntil(() => _rs.Sys.Find(ep) is { } d && d.State == ProcState.Receiving, "the driver to be done with the frame");
            var tx = Frame(Peer, 100 + i, (byte)(i + 1));
            Assert.Equal("r OK OK", c.Ask($"net write {ep} {Convert.ToHexString(tx)}"));
            Assert.Equal(NetTestKit.ReadAnswer(rx), c.Ask($"net collect {ep}"));
        }
        Assert.EndsWith(" 0", c.Ask($"net stat {ep}")); // no reply failed
    }

    [Fact]
    public void PciAndIommuDrivers_RefuseWhatNoPolicyGrants_AndCountIt()
    {
        int ep = Up();
        var c = _rs.Client; // a process RS never gave a PCI ACL
        long before = _rs.Sys.Kernel.Denials()[(int)Denial.RequestRejected];
        // Held until the PCI-bus driver's deadline, then refused.
        Assert.StartsWith("r OK " + Endpoint.Pci + " " + Err.EPERM, c.Ask($"sendrec {Endpoint.Pci} {Bulkhead.Lib.Pci.PciCall.FirstDev}"));
        Assert.StartsWith("r OK " + Endpoint.Pci + " " + Err.EPERM, c.Ask($"sendrec {Endpoint.Pci} {Bulkhead.Lib.Pci.PciCall.Reserve} {Address.RequesterId}"));
        // Only RS sets ACLs and only the IOMMU driver asks about owners.
        Assert.StartsWith("r OK " + Endpoint.Pci + " " + Err.EPERM, c.Ask($"sendrec {Endpoint.Pci} {Bulkhead.Lib.Pci.PciCall.SetAcl} {c.Endpoint}"));
        Assert.StartsWith("r OK " + Endpoint.Pci + " " + Err.EPERM, c.Ask($"sendrec3 {Endpoint.Pci} {Bulkhead.Lib.Pci.PciCall.CheckOwner} {Address.RequesterId} 0 0"));
        Assert.True(_rs.Sys.Kernel.Denials()[(int)Denial.RequestRejected] >= before + 4);

        // The IOMMU driver: DMA for a device the caller does not hold, into memory it did not pin
        // (the driver's own DMA region among it), is refused and counted.
        ulong bus = DmaAddresses().Single();
        long dmaBefore = _rs.Sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed];
        Assert.StartsWith("r OK " + Endpoint.Iommu + " " + Err.EPERM,
            c.Ask($"sendrec3 {Endpoint.Iommu} {Bulkhead.Lib.Iommu.IommuCall.Map} {Address.RequesterId} {(long)bus} 4096"));
        Assert.StartsWith("r OK " + Endpoint.Iommu + " " + Err.EPERM, c.Ask($"sendrec3 {Endpoint.Iommu} {Bulkhead.Lib.Iommu.IommuCall.Reset} {ep} 0 0"));
        Assert.True(_rs.Sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed] >= dmaBefore + 1);
        // None of it reached the IOMMU: the driver's domain is as it was and traffic flows.
        Assert.True(DomainAllows(bus, DmaPages * 4096));
        for (int i = 0; i < 3; i++) RoundTrip(ep, i);
    }

    [Fact]
    public void MisprogrammedDma_IsStoppedByTheIommu_Counted_AndTheDriverRecovers()
    {
        int ep = Up();
        for (int i = 0; i < 3; i++) RoundTrip(ep, i);
        ulong bus = DmaAddresses().Single();
        long before = _rs.Sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed];

        // A corrupted register write (as a fault injected into the driver would make): the
        // receive ring now starts just past the driver's DMA region.
        _board.Io.Write(IoBase + Rtl8139Registers.RbStart, 4, (uint)(bus + DmaPages * 4096));
        var c = _rs.Client;
        var answer = NetTestKit.PostRead(_rs.Sys, c, ep);
        _wire.Send(Frame(Mac, 100, 1));
        TestSystem.WaitUntil(() => _board.Iommu.Denied(Address.RequesterId) >= 1, "the IOMMU to refuse the DMA");
        Assert.True(_rs.Sys.Kernel.Denials()[(int)Denial.DeviceDmaNotAllowed] >= before + 1);

        // The driver saw the bus error, reset and reprogrammed its card; the next frame arrives.
        // Sent again only after a second without an answer (a frame the card took while the
        // driver reset it is lost): a copy that arrived would wait in the receive queue and
        // answer the next read.
        var rx = Frame(Mac, 200, 2);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!answer.IsCompleted && DateTime.UtcNow < until)
        {
            _wire.Send(rx);
            answer.Wait(1000);
        }
        Assert.Equal($"r OK OK {rx.Length} {Convert.ToHexString(rx)}", Puppet.Await(answer));
        Assert.Equal(ep.ToString(CultureInfo.InvariantCulture), _rs.Row("eth1")[1]); // no restart needed
        for (int i = 0; i < 3; i++) RoundTrip(ep, 10 + i);
    }

    [Fact]
    public void KilledMidTraffic_IsRestarted_GetsItsDeviceAgain_AndTrafficResumes()
    {
        int first = Up();
        var c = _rs.Client;
        for (int i = 0; i < 5; i++) RoundTrip(first, i);

        NetTestKit.KillMidTraffic(c, first, _wire, Mac, Peer, () => Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(first, 9)));

        string[] row = [];
        TestSystem.WaitUntil(() => (row = _rs.Row("eth1")) is { Length: >= 6 } r && r[2] == "running"
                                   && r[1] != first.ToString(CultureInfo.InvariantCulture), "eth1 running again under a new endpoint");
        Assert.Equal("terminated", row[4]);
        int second = int.Parse(row[1], CultureInfo.InvariantCulture);

        // The new instance reserved the device again (the PCI-bus driver released it), pinned
        // new memory and had the IOMMU reprogrammed; the old domain was reset first.
        var dma = DmaAddresses();
        Assert.Equal(2, dma.Count);
        Assert.True(DomainAllows(dma[1], DmaPages * 4096));
        if (dma[1] != dma[0]) Assert.False(DomainAllows(dma[0], 4096), "the dead driver's frames are still reachable");
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", c.Ask($"net conf {second}"));
        for (int i = 0; i < 20; i++) RoundTrip(second, 300 + i);
        Assert.StartsWith("r OK OK 20 20 ", c.Ask($"net stat {second}"));
    }

    /// <summary>Domains in the IOMMU driver's own table (its Status request, which anyone may make).</summary>
    private int IommuDomains()
    {
        var a = _rs.Client.Ask($"sendrec3 {Endpoint.Iommu} {Bulkhead.Lib.Iommu.IommuCall.Status} {Address.RequesterId} 0 0");
        Assert.Equal("OK", Puppet.Field(a, 1));
        return (int)(Puppet.LongField(a, 5) & 0xFFFFFFFF);
    }

    /// <summary>Issue 9: RS is the parent of the trusted bus drivers too. Each is killed in the
    /// middle of traffic; RS restarts it under its fixed endpoint, the rtl8139 driver goes on
    /// with its device and DMA untouched, and the new bus driver knows what the old one knew
    /// (from its DS backup): when the rtl8139 driver dies afterwards, its old DMA domain is reset
    /// and the new instance gets the device again.</summary>
    [Theory]
    [InlineData("pci")]
    [InlineData("iommu")]
    public void BusDriverKilledMidTraffic_IsRestartedByRs_TheDriverKeepsItsDeviceAndDma(string bus)
    {
        int ep = Up();
        for (int i = 0; i < 3; i++) RoundTrip(ep, i);
        ulong dma = Assert.Single(DmaAddresses());
        Assert.Equal(1, IommuDomains());

        int done = 0;
        Exception? failure = null;
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(() =>
        {
            try
            {
                for (int i = 10; !stop.IsCancellationRequested; i++)
                {
                    RoundTrip(ep, i);
                    Interlocked.Increment(ref done);
                }
            }
            catch (Exception e) { failure = e; }
        });
        TestSystem.WaitUntil(() => Volatile.Read(ref done) >= 5 || traffic.IsCompleted, "traffic to flow");
        Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(bus == "pci" ? Endpoint.Pci : Endpoint.Iommu, 9));
        var row = _rs.WaitRestarts(bus, 1);
        Assert.Equal(((bus == "pci" ? Endpoint.Pci : Endpoint.Iommu).ToString(CultureInfo.InvariantCulture), "terminated"), (row[1], row[4]));
        int after = Volatile.Read(ref done);
        TestSystem.WaitUntil(() => Volatile.Read(ref done) >= after + 20 || traffic.IsCompleted, "traffic to go on after the restart");
        stop.Cancel();
        Assert.True(traffic.Wait(30_000), "the traffic loop did not stop");
        Assert.Null(failure);

        // The network driver never noticed: same instance, same device, same DMA domain.
        var eth1 = _rs.Row("eth1");
        Assert.Equal((ep.ToString(CultureInfo.InvariantCulture), "running", "0"), (eth1[1], eth1[2], eth1[3]));
        Assert.True(DomainAllows(dma, DmaPages * 4096));
        Assert.Equal(1, IommuDomains());
        // The new bus driver logs its restore after its start-up lines; it may still be on its way.
        TestSystem.WaitUntil(() => _rs.Sys.Console.Has(bus == "pci" ? "pci: 1 device owner(s) restored from DS" : "iommu: DMA domains from DS: 1 kept, 0 reset"),
                             "the new bus driver to restore its state");

        // Now the network driver dies: RS resets its domain and releases its device at the new
        // bus drivers, and the next instance gets both again.
        Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(ep, 9));
        int second = RsKit.Ep(_rs.WaitRestarts("eth1", 1));
        var both = DmaAddresses();
        Assert.Equal(2, both.Count);
        Assert.True(DomainAllows(both[1], DmaPages * 4096));
        if (both[1] != dma) Assert.False(DomainAllows(dma, 4096), "the dead driver's frames are still reachable");
        Assert.Equal(1, IommuDomains());
        for (int i = 0; i < 5; i++) RoundTrip(second, 200 + i);
    }
}
