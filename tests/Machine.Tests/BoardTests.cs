// Board: the host bridge and IOMMU window in the port space; an RTL8139 plugged at 00:03.0,
// io 0xC000, irq 11 as firmware would, enabled through the configuration ports and driven
// through the port space (MAC registers, a frame received into a ring the IOMMU window
// allowed, a frame transmitted to the in-process peer); and PlugPci's refusals, each leaving
// the board as it was.
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Tests;

public sealed class BoardTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly PciAddress NicAddress = new(0, 3, 0);
    private const int NicIo = 0xC000;

    private sealed class Line(int number) : IIrqLine
    {
        public int Number => number;
        public bool Level { get; private set; }
        public void Set(bool asserted) => Level = asserted;
    }

    private sealed class Window(string name) : IPortDevice
    {
        public string Name => name;
        public uint Read(int offset, int size) => 0x12345678;
        public void Write(int offset, int size, uint value) { }
    }

    private sealed class Rig
    {
        public readonly Board Board = new();
        public readonly Rtl8139Device Nic;
        public readonly PeerBackend Wire;
        public readonly Line Irq = new(11);
        public readonly List<byte[]> Sent = [];

        public Rig()
        {
            var (a, b) = PeerBackend.Pair();
            Wire = b;
            b.Attach(f =>
            {
                lock (Sent) Sent.Add(f.ToArray());
            });
            Nic = new Rtl8139Device(Mac, Irq, a, Board.Iommu.Port(NicAddress.RequesterId));
            Assert.Null(Board.PlugPci(NicAddress, Nic.Config, Nic, NicIo, 11));
        }

        public IoSpace Io => Board.Io;

        public void ConfigWrite(int reg, int size, uint value)
        {
            Io.Write(Board.PciConfigPorts, 4, 0x8000_0000u | ((uint)NicAddress.Device << 11) | (uint)(reg & 0xFC));
            Io.Write(Board.PciConfigPorts + 4 + (reg & 3), size, value);
        }

        public uint ConfigRead(int reg, int size)
        {
            Io.Write(Board.PciConfigPorts, 4, 0x8000_0000u | ((uint)NicAddress.Device << 11) | (uint)(reg & 0xFC));
            return Io.Read(Board.PciConfigPorts + 4 + (reg & 3), size);
        }

        public uint Iommu(uint frame, uint count, uint command)
        {
            Io.Write(Board.IommuPorts + IommuController.DeviceOffset, 4, NicAddress.RequesterId);
            Io.Write(Board.IommuPorts + IommuController.FrameOffset, 4, frame);
            Io.Write(Board.IommuPorts + IommuController.CountOffset, 4, count);
            Io.Write(Board.IommuPorts + IommuController.CommandOffset, 4, command);
            return Io.Read(Board.IommuPorts + IommuController.StatusOffset, 4);
        }
    }

    [Fact]
    public void New_RegistersHostBridgeAndIommuWindow()
    {
        var board = new Board();
        Assert.Same(board.HostBridge, board.Io.Find(0xCF8, out int o0));
        Assert.Equal(0, o0);
        Assert.Same(board.HostBridge, board.Io.Find(0xCFF, out int o7));
        Assert.Equal(7, o7);
        Assert.Null(board.Io.Find(0xCF7, out _));
        Assert.Null(board.Io.Find(0xD00, out _));
        Assert.Same(board.IommuController, board.Io.Find(0xDE00, out _));
        Assert.Same(board.IommuController, board.Io.Find(0xDE1F, out int o31));
        Assert.Equal(31, o31);
        Assert.Null(board.Io.Find(0xDE20, out _));
        Assert.Equal(Board.DmaPageLimit, board.Iommu.PageLimit);
    }

    [Fact]
    public void New_OnExistingIoSpace_KeepsItsDevices_RefusesTakenPorts()
    {
        var io = new IoSpace();
        var isa = new Window("ne2000");
        Assert.True(io.Register(0x300, 32, isa));
        var board = new Board(io);
        Assert.Same(io, board.Io);
        Assert.Same(isa, io.Find(0x310, out _));
        Assert.NotNull(io.Find(Board.PciConfigPorts, out _));

        var clash = new IoSpace();
        Assert.True(clash.Register(0xCFC, 4, isa));
        Assert.Throws<InvalidOperationException>(() => new Board(clash));
        var clash2 = new IoSpace();
        Assert.True(clash2.Register(0xDE10, 1, isa));
        Assert.Throws<InvalidOperationException>(() => new Board(clash2));
    }

    [Fact]
    public void PlugPci_ProgramsBarAndInterruptLine_LikeFirmware()
    {
        var rig = new Rig();
        Assert.Same(rig.Nic.Config, rig.Board.Pci.Find(NicAddress));
        Assert.Equal(0xC001u, rig.ConfigRead(PciConfigSpace.Bar0Offset, 4));
        Assert.Equal(0xC000u, rig.Nic.Config.IoBase);
        Assert.Equal(11u, rig.ConfigRead(PciConfigSpace.InterruptLineOffset, 1));
        Assert.Equal(0u, rig.ConfigRead(PciConfigSpace.CommandOffset, 2)); // the driver enables it
        Assert.Same(rig.Nic, rig.Io.Find(NicIo + 0xFF, out int last));
        Assert.Equal(0xFF, last);
        Assert.Null(rig.Io.Find(NicIo + 0x100, out _));
        Assert.Equal([NicAddress], rig.Board.Pci.Enumerate());
    }

    [Fact]
    public void PluggedRtl8139_IoEnabledThroughHostBridge_MacReadableThroughIo()
    {
        var rig = new Rig();
        Assert.Equal(0xFFFFFFFFu, rig.Io.Read(NicIo + Idr0, 4)); // I/O space still disabled
        rig.ConfigWrite(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace | PciConfigSpace.CommandBusMaster);
        Assert.True(rig.Nic.Config.IoSpaceEnabled);
        Assert.True(rig.Nic.Config.BusMasterEnabled);

        uint lo = rig.Io.Read(NicIo + Idr0, 4), hi = rig.Io.Read(NicIo + Idr0 + 4, 2);
        Assert.Equal(0x12005452u, lo);
        Assert.Equal(0x5634u, hi);
        Assert.Equal(0x34u, rig.Io.Read(NicIo + 4, 1));
        Assert.Equal(TcrHwVersion, rig.Io.Read(NicIo + Tcr, 4));

        rig.ConfigWrite(PciConfigSpace.CommandOffset, 2, 0);
        Assert.Equal(0xFFFFu, rig.Io.Read(NicIo + Idr0, 2));
    }

    [Fact]
    public void PluggedRtl8139_ReceivesAndTransmits_ThroughIoAndIommuWindow()
    {
        var rig = new Rig();
        var pages = new byte[4][];
        for (int i = 0; i < pages.Length; i++)
        {
            pages[i] = new byte[PhysicalMemory.PageSize];
            Assert.True(rig.Board.Memory.Map(0x100 + (ulong)i, pages[i]));
        }
        const uint ring = 0x100000, tx = 0x102000; // frames 0x100–0x101 ring, 0x102 transmit
        Assert.Equal(IommuController.StatusDone, rig.Iommu(0x100, 3, IommuController.CommandAllow));
        rig.ConfigWrite(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace | PciConfigSpace.CommandBusMaster);
        var io = rig.Io;
        io.Write(NicIo + Cr, 1, CrRst);
        io.Write(NicIo + RbStart, 4, ring);
        io.Write(NicIo + Imr, 2, IntRok | IntTok);
        io.Write(NicIo + Rcr, 4, RcrApm);
        io.Write(NicIo + Cr, 1, CrRe | CrTe);

        var frame = new byte[60];
        Mac.CopyTo(frame, 0);
        frame[12] = 0x08;
        frame[59] = 0x77;
        rig.Wire.Send(frame);
        Assert.True(rig.Irq.Level);
        Assert.Equal((uint)IntRok, io.Read(NicIo + Isr, 2));
        Assert.Equal(Mac, pages[0][4..10]);
        Assert.Equal(0x77, pages[0][4 + 59]);

        var outgoing = new byte[60];
        outgoing.AsSpan(0, 6).Fill(0xFF);
        outgoing[59] = 0x99;
        outgoing.CopyTo(pages[2], 0);
        io.Write(NicIo + Tsad0, 4, tx);
        io.Write(NicIo + Tsd0, 4, (uint)outgoing.Length);
        Assert.Equal(TsdOwn | TsdTok, io.Read(NicIo + Tsd0, 4) & (TsdOwn | TsdTok));
        lock (rig.Sent) Assert.Equal([outgoing], rig.Sent);
        Assert.Equal(0, rig.Board.Iommu.Denied(NicAddress.RequesterId));
    }

    [Fact]
    public void PlugPci_Conflicts_ReportedAndNothingChanged()
    {
        var rig = new Rig();
        var board = rig.Board;
        PciConfigSpace Fn(int barSize = 256) => new(0x8086, 0x100E, 0x020000, 3, barSize, 1);

        string? Refused(PciAddress address, PciConfigSpace config, int ioBase, int irq)
        {
            var window = new Window("other");
            uint bar = config.Read(PciConfigSpace.Bar0Offset, 4);
            string? e = board.PlugPci(address, config, window, ioBase, irq);
            Assert.NotNull(e);
            Assert.NotSame(config, board.Pci.Find(address));
            Assert.Equal(bar, config.Read(PciConfigSpace.Bar0Offset, 4)); // BAR not placed
            Assert.Equal(0, config.InterruptLine);
            for (int port = Math.Max(ioBase, 0); port < Math.Min(ioBase + config.IoBarSize, 0x10000); port++)
                Assert.NotSame(window, board.Io.Find(port, out _));
            return e;
        }

        Assert.Contains("already taken", Refused(NicAddress, Fn(), 0xD000, 10));                 // address
        Assert.Contains("overlap rtl8139", Refused(new PciAddress(0, 4, 0), Fn(), NicIo, 10));    // same ports
        Assert.Contains("overlap rtl8139", Refused(new PciAddress(0, 4, 0), Fn(128), 0xC080, 10));    // inside its window
        Assert.Contains("overlap pci-host-bridge", Refused(new PciAddress(0, 4, 0), Fn(8), 0xCF8, 10));
        Assert.Contains("overlap iommu", Refused(new PciAddress(0, 4, 0), Fn(16), 0xDE10, 10));
        Assert.Contains("not aligned", Refused(new PciAddress(0, 4, 0), Fn(), 0xD080, 10));
        Assert.Contains("not aligned", Refused(new PciAddress(0, 4, 0), Fn(16), 0xD004, 10));
        Assert.Contains("outside", Refused(new PciAddress(0, 4, 0), Fn(), 0x10000, 10));
        Assert.Contains("outside", Refused(new PciAddress(0, 4, 0), Fn(), 0, 10));
        Assert.Contains("outside", Refused(new PciAddress(0, 4, 0), Fn(), -256, 10));
        Assert.Contains("irq 16", Refused(new PciAddress(0, 4, 0), Fn(), 0xD000, 16));
        Assert.Contains("irq -1", Refused(new PciAddress(0, 4, 0), Fn(), 0xD000, -1));
        Assert.Contains("invalid", Refused(new PciAddress(0, 32, 0), Fn(), 0xD000, 10));
        Assert.Contains("no I/O BAR", Refused(new PciAddress(0, 4, 0), Fn(0), 0xD000, 10));

        Assert.Equal([NicAddress], board.Pci.Enumerate());
        Assert.Null(board.Io.Find(0xD000, out _));

        // After all that, the free spot still takes the function; the top of the port space too.
        var ok = Fn();
        Assert.Null(board.PlugPci(new PciAddress(0, 4, 0), ok, new Window("e1000"), 0xD000, 10));
        Assert.Equal(0xD001u, ok.Read(PciConfigSpace.Bar0Offset, 4));
        Assert.Equal(10, ok.InterruptLine);
        Assert.Null(board.PlugPci(new PciAddress(0, 5, 0), Fn(), new Window("top"), 0xFF00, 0));
        Assert.Equal(0x12345678u, board.Io.Read(0xFFFF, 4));
        Assert.Equal([NicAddress, new PciAddress(0, 4, 0), new PciAddress(0, 5, 0)], board.Pci.Enumerate());
    }
}
