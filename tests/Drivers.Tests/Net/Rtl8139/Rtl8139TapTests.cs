// The rtl8139 driver, started by RS under etc/drivers.conf's policy on a machine with the PCI-bus
// and IOMMU drivers, against the RTL8139 model wired to a real Linux TAP in a network namespace
// the test makes (TapLink; root only, skipped with the reason elsewhere): frames Linux sends
// arrive byte for byte in posted reads, frames the driver writes are captured byte for byte on
// the Linux side — both ways by bus-master DMA through the IOMMU.
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Drivers.Tests.Net.Rtl8139;

public sealed class Rtl8139TapTests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x81, 0x39, 0x02];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly PciAddress Address = new(0, 3, 0);

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private RsSystem? _rs;
    private TapLink? _tap;

    public Rtl8139TapTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _rs?.Dispose();
        _tap?.Dispose();
    }

    [TapFact]
    public void Driver_ExchangesFramesWithLinuxThroughATap()
    {
        _tap = TapLink.Open();
        var board = new Board();
        _rs = new RsSystem(_output, board, kernel =>
        {
            var nic = new Rtl8139Device(Mac, kernel.IrqLine(11), _tap.Backend, board.Iommu.Port(Address.RequesterId));
            Assert.Null(board.PlugPci(Address, nic.Config, nic, 0xC000, 11));
        });
        _tap.Up();
        var up = _rs.Manager.Ask($"rs-spec up label=eth1;binary={RsSystem.Image};args=rtl8139;policy=rtl8139");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        _rs.WaitState("eth1", "running");
        int drv = int.Parse(_rs.Row("eth1")[1], CultureInfo.InvariantCulture);
        var c = _rs.Client;
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", c.Ask($"net conf {drv}"));

        for (int i = 0; i < 3; i++)
        {
            var inbound = TapLink.Frame(Mac, Peer, 60 + 400 * i, (byte)(0x31 + i));
            var answer = c.AskAsync($"net read {drv} 1514");
            TestSystem.WaitUntil(() => _rs.Sys.Find(c.Endpoint) is { } q && q.State == ProcState.Receiving && q.BlockedOn == drv,
                "the read to be posted");
            _tap.SendFromLinux(inbound);
            Assert.Equal($"r OK OK {inbound.Length} {Convert.ToHexString(inbound)}", Puppet.Await(answer));

            var outbound = TapLink.Frame(Peer, Mac, 1514 - 500 * i, (byte)(0x77 + i));
            var captured = _tap.Capture(() => Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(outbound)}")));
            Assert.Equal(outbound, captured);
        }
        Assert.Equal(0, board.Iommu.Denied(Address.RequesterId));
    }
}
