// PIO through the task file, byte-exact against the image file: READ/WRITE SECTORS with LBA28
// and their EXT forms with LBA48 at the first, a middle and the last sector; sector count 0
// meaning 256 and 65536; out-of-range addresses ending in IDNF before anything moves; LBA48
// above 2^28 on a large sparse disk; READ/WRITE MULTIPLE blocks; CHS addressing; an interrupt
// per DRQ block; FLUSH CACHE making the data durable in the file; 32-bit data-port accesses.
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaPioTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1000L)]
    [InlineData(2047L)] // the last sector of a 1 MiB disk
    public void ReadWriteSectors_Lba28_AtStartMiddleAndEnd_AreByteExact(long lba)
    {
        using var rig = new AtaRig();
        int count = lba == 2047 ? 1 : 3;
        var data = AtaRig.Pattern(count * 512, (int)lba);
        rig.WriteSectors(lba, data);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, rig.ImageBytes(lba, count));

        rig.Command28(CmdReadSectors, lba, count);
        Assert.Equal(data, rig.PioIn(count));
        Assert.Equal(StatusIdle, rig.R(Status));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(777L)]
    [InlineData(2046L)]
    public void ReadWriteSectorsExt_Lba48_AtStartMiddleAndEnd_AreByteExact(long lba)
    {
        using var rig = new AtaRig();
        var data = AtaRig.Pattern(2 * 512, 7 + (int)lba);
        rig.WriteSectors(lba, data, ext: true);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, rig.ImageBytes(lba, 2));
        rig.Command48(CmdReadSectorsExt, lba, 2);
        Assert.Equal(data, rig.PioIn(2));
    }

    [Fact]
    public void ReadWriteSectorsExt_AboveLba28_OnALargeSparseDisk_ReachTheRightOffset()
    {
        using var rig = new AtaRig(200L << 30);
        long lba = (1L << 28) + 12345, last = rig.Sectors - 1;
        foreach (long at in new[] { lba, last })
        {
            var data = AtaRig.Pattern(512, (int)(at & 0xFF));
            rig.WriteSectors(at, data, ext: true);
            Assert.Equal(StatusIdle, rig.R(Status));
            Assert.Equal(data, rig.ImageBytes(at, 1));
            rig.Command48(CmdReadSectorsExt, at, 1);
            Assert.Equal(data, rig.PioIn(1));
        }
        rig.Command28(CmdReadSectors, 0x0FFFFFFF, 1); // beyond what LBA28 may address
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorIdnf, rig.R(Error));
    }

    [Fact]
    public void WriteSectors_CountZero_Means256Sectors()
    {
        using var rig = new AtaRig();
        var data = AtaRig.Pattern(256 * 512, 3);
        rig.WriteSectors(10, data);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, rig.ImageBytes(10, 256));
        Assert.Equal(256, rig.Interrupts);             // one interrupt after every sector
    }

    [Fact]
    public void ReadSectorsExt_CountZero_Means65536Sectors()
    {
        using var rig = new AtaRig(65535L * 512);
        rig.Command48(CmdReadSectorsExt, 0, 0);        // 65536 sectors: one more than the disk has
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorIdnf, rig.R(Error));
        rig.Command48(CmdReadSectorsExt, 0, 0xFFFF);   // exactly the disk
        Assert.Equal(StatusIdle | StatusDrq, rig.R(Status));
    }

    [Theory]
    [InlineData(2048L, 1)]  // one past the end
    [InlineData(2047L, 2)]  // runs past the end
    [InlineData(1800L, 0)]  // 256 sectors from 1800
    public void ReadSectors_OutOfRange_EndsWithIdnf_AndMovesNothing(long lba, int count)
    {
        using var rig = new AtaRig();
        rig.Command28(CmdWriteSectors, lba, count);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorIdnf, rig.R(Error));
        Assert.Equal(0, rig.ReadWord());
        rig.Command48(CmdReadSectorsExt, lba, count == 0 ? 256 : count);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorIdnf, rig.R(Error));
    }

    [Fact]
    public void ReadSectors_RaisesAnInterruptPerSector_WriteAfterEachSector()
    {
        using var rig = new AtaRig();
        rig.Command28(CmdReadSectors, 0, 3);
        for (int s = 0; s < 3; s++)
        {
            Assert.True(rig.Irq.Level);
            Assert.Equal(StatusIdle | StatusDrq, rig.R(Status)); // acknowledges
            Assert.False(rig.Irq.Level);
            for (int i = 0; i < 256; i++) rig.ReadWord();
        }
        Assert.False(rig.Irq.Level);                               // none after the last read block
        Assert.Equal(StatusIdle, rig.R(Status));

        rig.Command28(CmdWriteSectors, 0, 2);
        Assert.False(rig.Irq.Level);                               // none before the first block
        for (int s = 0; s < 2; s++)
        {
            Assert.Equal(StatusIdle | StatusDrq, rig.AltStatus);
            for (int i = 0; i < 256; i++) rig.WriteWord(0x1234);
            Assert.True(rig.Irq.Level);
            rig.R(Status);
        }
        Assert.Equal(StatusIdle, rig.R(Status));
    }

    [Fact]
    public void ReadWriteMultiple_MovesBlocksOfTheMultipleCount()
    {
        using var rig = new AtaRig();
        rig.Command28(CmdReadMultiple, 0, 8);            // before SET MULTIPLE MODE
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorAbrt, rig.R(Error));
        rig.W(SectorCount, 3);                           // not a power of two
        rig.W(Command, CmdSetMultiple);
        Assert.Equal(ErrorAbrt, rig.R(Error));
        rig.W(SectorCount, 4);
        rig.W(Command, CmdSetMultiple);
        Assert.Equal(StatusIdle, rig.R(Status));

        var data = AtaRig.Pattern(10 * 512, 9);
        int before = rig.Interrupts;
        rig.Command48(CmdWriteMultipleExt, 100, 10);     // blocks of 4, 4, 2
        rig.PioOut(data);
        Assert.Equal(3, rig.Interrupts - before);
        Assert.Equal(data, rig.ImageBytes(100, 10));
        before = rig.Interrupts;
        rig.Command28(CmdReadMultiple, 100, 10);
        Assert.Equal(data, rig.PioIn(10));
        Assert.Equal(3, rig.Interrupts - before);
    }

    [Fact]
    public void ReadSectors_ChsAddress_UsesTheDefaultTranslation()
    {
        using var rig = new AtaRig();
        var data = AtaRig.Pattern(512, 5);
        rig.WriteSectors((1 * 16 + 2) * 63 + 4, data);
        rig.CommandChs(CmdReadSectors, 1, 2, 5, 1);
        Assert.Equal(data, rig.PioIn(1));
        rig.CommandChs(CmdReadSectors, 1, 2, 0, 1);                // sector numbers start at 1
        Assert.Equal(ErrorIdnf, rig.R(Error));
    }

    [Fact]
    public void DataPort_32BitAccesses_MoveTwoWordsEach()
    {
        using var rig = new AtaRig();
        var data = AtaRig.Pattern(512, 11);
        rig.Command28(CmdWriteSectors, 5, 1);
        for (int i = 0; i < 128; i++) rig.Ata.CommandBlock.Write(Data, 4, BitConverter.ToUInt32(data, 4 * i));
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.Command28(CmdReadSectors, 5, 1);
        var back = new byte[512];
        for (int i = 0; i < 128; i++) BitConverter.TryWriteBytes(back.AsSpan(4 * i), rig.Ata.CommandBlock.Read(Data, 4));
        Assert.Equal(data, back);
        Assert.Equal(data, rig.ImageBytes(5, 1));
    }

    [Fact]
    public void FlushCache_MakesWrittenSectorsDurableInTheImageFile()
    {
        using var rig = new AtaRig();
        var data = AtaRig.Pattern(4 * 512, 21);
        rig.WriteSectors(60, data, ext: true);
        rig.W(Command, CmdFlushCache);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.W(Command, CmdFlushCacheExt);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, File.ReadAllBytes(rig.ImagePath).AsSpan(60 * 512, 4 * 512).ToArray());
    }

    [Fact]
    public void ReadSectors_NeverWrittenSectors_AreZeros()
    {
        using var rig = new AtaRig();
        rig.Command28(CmdReadSectors, 1500, 2);
        Assert.Equal(new byte[1024], rig.PioIn(2));
    }
}
