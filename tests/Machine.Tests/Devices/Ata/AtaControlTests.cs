// The ATA model's registers around the commands: the interrupt (raised on completion,
// acknowledged by Status and not by Alternate Status, masked by nIEN), soft reset and the
// signature it leaves, EXECUTE DEVICE DIAGNOSTIC, the absent slave, unknown commands, HOB
// reads of the previous register values, and misprogramming (data port without DRQ, commands
// while DRQ or BSY, byte accesses to the data port, wide accesses to 8-bit registers) handled
// as a drive handles it, never with an exception.
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaControlTests
{
    [Fact]
    public void PowerOn_ShowsTheAtaSignature_Ready()
    {
        using var rig = new AtaRig();
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal((1, 1, 0, 0, DiagnosticPassed), (rig.R(SectorCount), rig.R(LbaLow), rig.R(LbaMid), rig.R(LbaHigh), rig.R(Error)));
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void Interrupt_AcknowledgedByStatus_NotByAltStatus()
    {
        using var rig = new AtaRig();
        rig.W(Command, CmdFlushCache);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle, rig.AltStatus);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void Interrupt_MaskedByNien_AndRaisedWhenUnmaskedWhilePending()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.Control(ControlNien);
        rig.W(Command, CmdFlushCache);
        Assert.False(rig.Irq.Level);
        Assert.Equal(0, rig.Irq.Raised);
        Assert.Equal(0u, rig.Ata.BusMaster.Read(BmStatus, 1) & BmStatusInterrupt); // no INTRQ seen
        rig.Control(0);
        Assert.True(rig.Irq.Level);                    // still pending
        rig.R(Status);
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void SoftReset_BusyWhileHeld_ThenSignature_AbortsATransfer()
    {
        using var rig = new AtaRig();
        rig.Command28(CmdReadSectors, 7, 4);
        Assert.Equal(StatusIdle | StatusDrq, rig.AltStatus);
        rig.Control(ControlSrst);
        Assert.Equal(StatusBsy, rig.AltStatus);
        Assert.False(rig.Irq.Level);
        rig.W(Command, CmdIdentify);                   // ignored while BSY
        rig.W(LbaMid, 0x55);                           // ignored while BSY
        rig.Control(0);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal((1, 1, 0, 0, DiagnosticPassed), (rig.R(SectorCount), rig.R(LbaLow), rig.R(LbaMid), rig.R(LbaHigh), rig.R(Error)));
        Assert.Equal(DeviceObsolete, rig.R(Device));
        Assert.Equal(0, rig.ReadWord());               // the transfer is gone
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void ExecuteDeviceDiagnostic_LeavesTheSignature_AndInterrupts()
    {
        using var rig = new AtaRig();
        rig.Command28(CmdReadSectors, 0x123456, 9);
        for (int i = 0; i < 256 * 9; i++) rig.ReadWord();
        rig.W(Command, CmdExecuteDiagnostic);
        Assert.True(rig.Irq.Level);
        Assert.Equal((1, 1, 0, 0, DiagnosticPassed), (rig.R(SectorCount), rig.R(LbaLow), rig.R(LbaMid), rig.R(LbaHigh), rig.R(Error)));
    }

    [Fact]
    public void AbsentSlave_ReadsStatusZero_AndIgnoresCommands()
    {
        using var rig = new AtaRig();
        rig.W(Device, DeviceSlave);
        Assert.Equal(0, rig.R(Status));
        Assert.Equal(0, rig.AltStatus);
        Assert.Equal(0, rig.R(SectorCount));
        Assert.Equal(DeviceObsolete | DeviceSlave, rig.R(Device));
        rig.W(Command, CmdIdentify);
        Assert.False(rig.Irq.Level);
        Assert.Equal(0, rig.R(Status));
        Assert.Equal(0, rig.ReadWord());
        rig.W(Device, 0);
        Assert.Equal(StatusIdle, rig.R(Status));       // the master saw no command either
    }

    [Theory]
    [InlineData(0x00)] // NOP
    [InlineData(0xA1)] // IDENTIFY PACKET DEVICE: not a packet device
    [InlineData(0x08)] // DEVICE RESET: packet devices only
    [InlineData(0xFF)]
    public void UnknownCommand_EndsWithAbrt(byte command)
    {
        using var rig = new AtaRig();
        rig.W(Command, command);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorAbrt, rig.R(Error));
        rig.W(Command, CmdFlushCache);                 // the next command clears the error
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(0, rig.R(Error));
    }

    [Fact]
    public void Hob_ReadsThePreviousValues_AndAnyRegisterWriteClearsIt()
    {
        using var rig = new AtaRig();
        rig.W(LbaLow, 0x11);
        rig.W(LbaLow, 0x22);
        rig.W(SectorCount, 0x33);
        rig.W(SectorCount, 0x44);
        rig.Control(ControlHob);
        Assert.Equal((0x11, 0x33), (rig.R(LbaLow), rig.R(SectorCount)));
        rig.W(LbaMid, 0);
        Assert.Equal((0x22, 0x44), (rig.R(LbaLow), rig.R(SectorCount)));
    }

    [Fact]
    public void Misprogramming_IsIgnoredOrAnErrorBit_NeverAnException()
    {
        using var rig = new AtaRig();
        Assert.Equal(0, rig.ReadWord());               // no DRQ
        rig.WriteWord(0xBEEF);
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.Command28(CmdWriteSectors, 0, 1);
        rig.W(Command, CmdIdentify);                   // while DRQ: ignored
        Assert.Equal(StatusIdle | StatusDrq, rig.AltStatus);
        Assert.Equal(0xFFu, rig.Ata.CommandBlock.Read(Data, 1)); // a byte access moves nothing
        rig.Ata.CommandBlock.Write(Data, 1, 0x12);
        for (int i = 0; i < 256; i++) rig.WriteWord(0x0101);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(Enumerable.Repeat((byte)1, 512), rig.ImageBytes(0, 1));

        uint wide = rig.Ata.CommandBlock.Read(SectorCount, 4); // count, LBA low/mid/high as bytes
        Assert.Equal(rig.R(SectorCount) | ((uint)rig.R(LbaLow) << 8), wide & 0xFFFF);
        foreach (int size in new[] { 0, 3, 8, -1 })
        {
            rig.Ata.CommandBlock.Read(3, size);
            rig.Ata.CommandBlock.Write(3, size, 0xFFFFFFFF);
            rig.Ata.ControlBlock.Write(0, size, 0xFFFFFFFF);
            rig.Ata.BusMaster.Read(0, size);
            rig.Ata.BusMaster.Write(0, size, 0xFFFFFFFF);
        }
        for (int off = -4; off < 24; off++)
        {
            rig.Ata.CommandBlock.Read(off, 1);
            rig.Ata.CommandBlock.Write(off, 4, 0);
            rig.Ata.ControlBlock.Read(off, 2);
        }
        rig.Ata.ControlBlock.Write(0, 1, 0);
        Assert.Equal(StatusIdle | StatusErr, rig.AltStatus); // the stray writes of 0 to Command were NOPs: aborted
    }

    [Fact]
    public void InitializeDeviceParameters_ChangesTheChsTranslation()
    {
        using var rig = new AtaRig();
        rig.W(SectorCount, 32);
        rig.W(Device, 7);                              // 8 heads
        rig.W(Command, CmdInitializeParameters);
        Assert.Equal(StatusIdle, rig.R(Status));
        var data = AtaRig.Pattern(512, 2);
        rig.WriteSectors((3 * 8 + 1) * 32 + 9, data);
        rig.CommandChs(CmdReadSectors, 3, 1, 10, 1);
        Assert.Equal(data, rig.PioIn(1));
    }
}
