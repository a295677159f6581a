// The test machine for the ATA model: a sparse image in a temporary directory, 64 frames of
// physical memory behind an IOMMU, an IRQ probe, and an AtaController as a driver sees it —
// task-file registers by name, PIO sector transfers the way at_wini and Linux's libata do
// them (write the task file, issue the command, wait for DRQ, move 256 words per sector), and
// a PRD table builder for bus-master DMA (at the channel's half of the block). Either channel;
// primary unless the constructor says otherwise. Dispose removes the image.
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

internal sealed class AtaRig : IDisposable
{
    public const ushort Rid = 0x0020;        // 00:04.0
    public const uint PrdTable = 0x10000;    // frame 16
    public const uint Buffer = 0x20000;      // frames 32–47, allowed
    public const uint Forbidden = 0x30000;   // frame 48: mapped, never allowed

    public readonly string Dir;
    public readonly string ImagePath;
    public readonly DiskImage Image;
    public readonly PhysicalMemory Memory = new(64);
    public readonly Iommu Iommu;
    public readonly IrqProbe Irq;
    public readonly AtaController Ata;

    public sealed class IrqProbe(int number) : IIrqLine
    {
        public int Number => number;
        public bool Level { get; private set; }
        public int Raised { get; private set; }

        public void Set(bool asserted)
        {
            Level = asserted;
            if (asserted) Raised++;
        }
    }

    /// <summary>This channel's registers in the bus-master block: 0 (primary) or 8 (secondary).</summary>
    public readonly int BmBase;

    public AtaRig(long bytes = 1 << 20, AtaChannel channel = AtaChannel.Primary)
    {
        Irq = new IrqProbe(IrqOf(channel));
        BmBase = BusMasterOffsetOf(channel);
        Dir = Directory.CreateTempSubdirectory("bulkhead-ata-").FullName;
        ImagePath = Path.Combine(Dir, "disk.img");
        Image = DiskImage.Open(ImagePath, bytes);
        for (ulong i = 0; i < 64; i++) Assert.True(Memory.Map(i, new byte[PhysicalMemory.PageSize]));
        Iommu = new Iommu(Memory, 8, 64);
        Assert.True(Iommu.Allow(Rid, PrdTable >> 12));
        for (uint i = 0; i < 16; i++) Assert.True(Iommu.Allow(Rid, (Buffer >> 12) + i));
        Ata = new AtaController(Image, "BH0001", Irq, Iommu.Port(Rid), channel);
    }

    public void Dispose()
    {
        Image.Dispose();
        Directory.Delete(Dir, recursive: true);
    }

    public long Sectors => Image.Sectors;

    public byte R(int reg) => (byte)Ata.CommandBlock.Read(reg, 1);
    public void W(int reg, int value) => Ata.CommandBlock.Write(reg, 1, (uint)value);
    public byte AltStatus => (byte)Ata.ControlBlock.Read(0, 1);
    public void Control(int value) => Ata.ControlBlock.Write(0, 1, (uint)value);
    public ushort ReadWord() => (ushort)Ata.CommandBlock.Read(Data, 2);
    public void WriteWord(ushort w) => Ata.CommandBlock.Write(Data, 2, w);

    /// <summary>An LBA28 command: count, LBA bytes, Device with the LBA bit and bits 24–27.</summary>
    public void Command28(byte command, long lba, int count)
    {
        W(SectorCount, count & 0xFF);
        W(LbaLow, (int)(lba & 0xFF));
        W(LbaMid, (int)((lba >> 8) & 0xFF));
        W(LbaHigh, (int)((lba >> 16) & 0xFF));
        W(Device, DeviceLba | (int)((lba >> 24) & 0x0F));
        W(Command, command);
    }

    /// <summary>An LBA48 command: each register written twice, high byte first.</summary>
    public void Command48(byte command, long lba, int count)
    {
        W(SectorCount, (count >> 8) & 0xFF);
        W(LbaLow, (int)((lba >> 24) & 0xFF));
        W(LbaMid, (int)((lba >> 32) & 0xFF));
        W(LbaHigh, (int)((lba >> 40) & 0xFF));
        W(SectorCount, count & 0xFF);
        W(LbaLow, (int)(lba & 0xFF));
        W(LbaMid, (int)((lba >> 8) & 0xFF));
        W(LbaHigh, (int)((lba >> 16) & 0xFF));
        W(Device, DeviceLba);
        W(Command, command);
    }

    /// <summary>A CHS command: cylinder in LBA mid/high, head in Device bits 0–3, sector (from 1) in LBA low.</summary>
    public void CommandChs(byte command, int cylinder, int head, int sector, int count)
    {
        W(SectorCount, count);
        W(LbaLow, sector);
        W(LbaMid, cylinder & 0xFF);
        W(LbaHigh, cylinder >> 8);
        W(Device, head);
        W(Command, command);
    }

    /// <summary>WRITE SECTORS (EXT) of <paramref name="data"/> at <paramref name="lba"/> by PIO.</summary>
    public void WriteSectors(long lba, byte[] data, bool ext = false)
    {
        if (ext) Command48(CmdWriteSectorsExt, lba, data.Length / 512);
        else Command28(CmdWriteSectors, lba, data.Length / 512);
        PioOut(data);
    }

    /// <summary>Interrupts a PIO transfer's driver acknowledged (by reading Status).</summary>
    public int Interrupts { get; private set; }

    private void AckIfRaised()
    {
        if (!Irq.Level) return;
        Interrupts++;
        R(Status);
    }

    /// <summary>Reads the sectors of a PIO-in command as an interrupt-driven driver does: wait for
    /// the interrupt (acknowledge it) or DRQ, check DRQ, read 256 words per sector.</summary>
    public byte[] PioIn(int sectors)
    {
        var data = new byte[sectors * 512];
        for (int s = 0; s < sectors; s++)
        {
            AckIfRaised();
            Assert.Equal(StatusIdle | StatusDrq, AltStatus);
            for (int i = 0; i < 256; i++)
            {
                ushort w = ReadWord();
                data[s * 512 + 2 * i] = (byte)w;
                data[s * 512 + 2 * i + 1] = (byte)(w >> 8);
            }
        }
        return data;
    }

    /// <summary>Writes the sectors of a PIO-out command: check DRQ, 256 words, acknowledge the
    /// interrupt that follows the block.</summary>
    public void PioOut(byte[] data)
    {
        for (int s = 0; s < data.Length / 512; s++)
        {
            Assert.Equal(StatusIdle | StatusDrq, AltStatus);
            for (int i = 0; i < 256; i++) WriteWord((ushort)(data[s * 512 + 2 * i] | (data[s * 512 + 2 * i + 1] << 8)));
            AckIfRaised();
        }
    }

    public byte[] ImageBytes(long lba, int sectors)
    {
        using var f = new FileStream(ImagePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var b = new byte[sectors * 512];
        f.Position = lba * 512;
        f.ReadExactly(b);
        return b;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(seed * 131 + i * 7 + (i >> 9));
        return b;
    }

    // ---- bus master ----

    public void EnablePci(bool busMaster = true) =>
        Ata.Config.Write(PciConfigSpace.CommandOffset, 2,
            PciConfigSpace.CommandIoSpace | (busMaster ? PciConfigSpace.CommandBusMaster : 0u));

    public byte BmStatusReg => (byte)Ata.BusMaster.Read(BmBase + BmStatus, 1);

    /// <summary>Writes a PRD table of (address, bytes) entries at <paramref name="at"/>, the last marked end of table.</summary>
    public void Prds(params (uint Address, int Bytes)[] entries) => PrdsAt(PrdTable, entries);

    public void PrdsAt(uint at, (uint Address, int Bytes)[] entries)
    {
        var t = new byte[entries.Length * PrdSize];
        for (int i = 0; i < entries.Length; i++)
        {
            BitConverter.TryWriteBytes(t.AsSpan(8 * i), entries[i].Address);
            uint flags = (uint)(entries[i].Bytes & 0xFFFF) | (i == entries.Length - 1 ? PrdEndOfTable : 0);
            BitConverter.TryWriteBytes(t.AsSpan(8 * i + 4), flags);
        }
        Assert.True(Memory.Write(at, t));
        Ata.BusMaster.Write(BmBase + BmPrdTable, 4, at);
    }

    /// <summary>Starts the bus master in the direction a READ DMA (toMemory) or WRITE DMA needs.</summary>
    public void StartBusMaster(bool toMemory) =>
        Ata.BusMaster.Write(BmBase + BmCommand, 1, BmCommandStart | (toMemory ? BmCommandWrite : 0u));

    public void StopBusMaster() => Ata.BusMaster.Write(BmBase + BmCommand, 1, 0);

    public byte[] Phys(uint address, int length)
    {
        var b = new byte[length];
        Assert.True(Memory.Read(address, b));
        return b;
    }
}
