// PciHostBridge (configuration mechanism #1) driven through the port space the way firmware
// and the PCI-bus driver drive it: a scan of bus 0 that finds a plugged RTL8139 by its ids,
// CONFIG_ADDRESS read-back, the enable bit, byte and word accesses at CFC+1..3, BAR size
// probing, bus/device/function decoding, absent functions and malformed accesses.
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Xunit;

namespace Bulkhead.Machine.Tests;

public sealed class PciHostBridgeTests
{
    private const int Cf8 = Board.PciConfigPorts, Cfc = Board.PciConfigPorts + 4;
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    private sealed class Line : IIrqLine
    {
        public int Number => 11;
        public void Set(bool asserted) { }
    }

    private static uint ConfigAddress(int bus, int dev, int fn, int reg) =>
        0x8000_0000u | (uint)(bus << 16) | (uint)(dev << 11) | (uint)(fn << 8) | (uint)reg;

    /// <summary>A board with an RTL8139 plugged at 00:03.0, io 0xC000, irq 11.</summary>
    private static (Board Board, Rtl8139Device Nic) BoardWithNic()
    {
        var board = new Board();
        var address = new PciAddress(0, 3, 0);
        var nic = new Rtl8139Device(Mac, new Line(), PeerBackend.Pair().A, board.Iommu.Port(address.RequesterId));
        Assert.Null(board.PlugPci(address, nic.Config, nic, 0xC000, 11));
        return (board, nic);
    }

    private static uint ConfigRead(IoSpace io, int bus, int dev, int fn, int reg, int size = 4)
    {
        io.Write(Cf8, 4, ConfigAddress(bus, dev, fn, reg & 0xFC));
        return io.Read(Cfc + (reg & 3), size);
    }

    [Fact]
    public void Scan_Bus0_FindsPluggedNicByIds()
    {
        var (board, _) = BoardWithNic();
        var found = new List<(int Dev, uint Ids, uint Class)>();
        for (int dev = 0; dev < 32; dev++)
        {
            uint ids = ConfigRead(board.Io, 0, dev, 0, 0x00);
            if ((ids & 0xFFFF) == 0xFFFF) continue;
            found.Add((dev, ids, ConfigRead(board.Io, 0, dev, 0, 0x08) >> 8));
        }
        Assert.Equal([(3, 0x813910ECu, 0x020000u)], found);
        Assert.Equal(0xC001u, ConfigRead(board.Io, 0, 3, 0, 0x10));
        Assert.Equal(11u, ConfigRead(board.Io, 0, 3, 0, 0x3C, 1));
        Assert.Equal(1u, ConfigRead(board.Io, 0, 3, 0, 0x3D, 1));
    }

    [Fact]
    public void AbsentFunction_ReadsAllOnes_WritesDropped()
    {
        var (board, nic) = BoardWithNic();
        Assert.Equal(0xFFFFFFFFu, ConfigRead(board.Io, 0, 3, 1, 0x00)); // other function of the NIC's slot
        Assert.Equal(0xFFFFFFFFu, ConfigRead(board.Io, 1, 3, 0, 0x00)); // same slot on bus 1
        Assert.Equal(0xFFFFu, ConfigRead(board.Io, 0, 4, 0, 0x00, 2));
        board.Io.Write(Cf8, 4, ConfigAddress(1, 3, 0, 0x04));
        board.Io.Write(Cfc, 2, 0x0005);
        Assert.Equal(0, nic.Config.Command);
    }

    [Fact]
    public void ConfigAddress_ReadsBackWithReservedBitsZero()
    {
        var bridge = new PciHostBridge(new PciBus());
        bridge.Write(0, 4, 0xFFFF_FFFF);
        Assert.Equal(0x80FF_FFFCu, bridge.Read(0, 4));
        bridge.Write(0, 4, 0x0000_1803);
        Assert.Equal(0x0000_1800u, bridge.Read(0, 4));
    }

    [Fact]
    public void EnableBitClear_DataReadsAllOnes_WritesDropped()
    {
        var (board, nic) = BoardWithNic();
        board.Io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x00) & ~PciHostBridge.EnableBit);
        Assert.Equal(0xFFFFFFFFu, board.Io.Read(Cfc, 4));
        Assert.Equal(0xFFu, board.Io.Read(Cfc + 1, 1));

        board.Io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x04) & ~PciHostBridge.EnableBit);
        board.Io.Write(Cfc, 2, 0x0005);
        Assert.Equal(0, nic.Config.Command);
        board.Io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x04));
        board.Io.Write(Cfc, 2, 0x0005);
        Assert.Equal(0x0005, nic.Config.Command);
    }

    [Fact]
    public void ByteAndWordAccesses_AtCfcPlusK_ReachRegisterPlusK()
    {
        var (board, nic) = BoardWithNic();
        var io = board.Io;
        io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x00));
        Assert.Equal(0xECu, io.Read(Cfc, 1));
        Assert.Equal(0x10u, io.Read(Cfc + 1, 1));
        Assert.Equal(0x39u, io.Read(Cfc + 2, 1));
        Assert.Equal(0x81u, io.Read(Cfc + 3, 1));
        Assert.Equal(0x10ECu, io.Read(Cfc, 2));
        Assert.Equal(0x3910u, io.Read(Cfc + 1, 2));
        Assert.Equal(0x8139u, io.Read(Cfc + 2, 2));

        io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x3C));
        io.Write(Cfc, 1, 5);                      // interrupt line
        io.Write(Cfc + 1, 1, 4);                  // interrupt pin: read-only
        Assert.Equal(5, nic.Config.InterruptLine);
        Assert.Equal(0x0105u, io.Read(Cfc, 2));
        io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x04));
        io.Write(Cfc + 1, 1, 0x04);               // command bit 10 (INTx disable) via the high byte
        Assert.True(nic.Config.InterruptsDisabled);
        Assert.Equal(0x0200u, io.Read(Cfc + 2, 2)); // status
    }

    [Fact]
    public void RegisterLowBitsInConfigAddress_AreIgnored()
    {
        var (board, _) = BoardWithNic();
        board.Io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x02) | 1);
        Assert.Equal(0x813910ECu, board.Io.Read(Cfc, 4)); // register 0x00, not 0x02 or 0x03
    }

    [Fact]
    public void Bar0_SizeProbedThroughPorts()
    {
        var (board, nic) = BoardWithNic();
        var io = board.Io;
        io.Write(Cf8, 4, ConfigAddress(0, 3, 0, 0x10));
        uint saved = io.Read(Cfc, 4);
        io.Write(Cfc, 4, 0xFFFF_FFFF);
        uint mask = io.Read(Cfc, 4);
        io.Write(Cfc, 4, saved);
        Assert.Equal(0xFFFFFF01u, mask);
        Assert.Equal(1u, mask & 1); // I/O BAR
        Assert.Equal(256u, ~(mask & ~3u) + 1);
        Assert.Equal(0xC000u, nic.Config.IoBase);
    }

    [Fact]
    public void Decode_BusDeviceFunction()
    {
        var bus = new PciBus();
        var bridge = new PciHostBridge(bus);
        Assert.True(bus.Attach(new PciAddress(0xA5, 17, 6), new PciConfigSpace(0x1234, 0x5678, 0, 1, 0, 0)));
        Assert.True(bus.Attach(new PciAddress(0xA5, 17, 5), new PciConfigSpace(0x1234, 0x9999, 0, 1, 0, 0)));
        bridge.Write(0, 4, ConfigAddress(0xA5, 17, 6, 0));
        Assert.Equal(0x56781234u, bridge.Read(4, 4));
        bridge.Write(0, 4, ConfigAddress(0xA5, 17, 5, 0));
        Assert.Equal(0x99991234u, bridge.Read(4, 4));
        bridge.Write(0, 4, ConfigAddress(0xA4, 17, 6, 0));
        Assert.Equal(0xFFFFFFFFu, bridge.Read(4, 4));
        bridge.Write(0, 4, ConfigAddress(0xA5, 16, 6, 0));
        Assert.Equal(0xFFFFFFFFu, bridge.Read(4, 4));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(0, 2)]
    [InlineData(2, 2)]
    [InlineData(1, 4)]
    public void NarrowOrMisplacedAccessToConfigAddress_ReadsAllOnes_Dropped(int offset, int size)
    {
        var bridge = new PciHostBridge(new PciBus());
        bridge.Write(0, 4, 0x8000_1800);
        Assert.Equal(0xFFFFFFFFu, bridge.Read(offset, size));
        bridge.Write(offset, size, 0);
        Assert.Equal(0x8000_1800u, bridge.Read(0, 4));
    }

    [Theory]
    [InlineData(5, 4)]
    [InlineData(6, 4)]
    [InlineData(7, 2)]
    [InlineData(8, 1)]
    [InlineData(-1, 4)]
    [InlineData(int.MinValue, 4)]
    [InlineData(4, 3)]
    [InlineData(4, 0)]
    [InlineData(4, -4)]
    public void OutOfRangeDataAccess_ReadsAllOnes_NothingWritten(int offset, int size)
    {
        var bus = new PciBus();
        var config = new PciConfigSpace(0x10EC, 0x8139, 0x020000, 0x10, 256, 1);
        Assert.True(bus.Attach(new PciAddress(0, 3, 0), config));
        var bridge = new PciHostBridge(bus);
        bridge.Write(0, 4, ConfigAddress(0, 3, 0, 0x3C));
        Assert.Equal(0xFFFFFFFFu, bridge.Read(offset, size));
        bridge.Write(offset, size, 0xFFFF_FFFF);
        Assert.Equal(0, config.InterruptLine);
        Assert.Equal(0x0100u, bridge.Read(4, 2)); // the in-range access still works
    }
}
