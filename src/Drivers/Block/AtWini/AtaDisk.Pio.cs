// Programmed I/O transfers of the ATA disk: READ/WRITE SECTORS (EXT), one 512-byte block per
// DRQ. A read interrupts when each block is ready; a write raises DRQ for the first block
// without an interrupt (polled on the alternate status) and interrupts after each block. The
// data moves through the data port 32 bits at a time (AtaPorts), from or to the bounce buffer.
// Rules: the status is checked before each block moves (ERR/DF: EIO; no DRQ where a block is
// due: EIO); the retry policy is the caller's (AtaDisk.Transfer).
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Drivers.Block.AtWini;

internal sealed partial class AtaDisk
{
    private const int DrqPolls = 100_000;

    private int Pio(bool write, long lba, int count)
    {
        bool ext = NeedsExt(lba, count);
        Select(lba, count, ext);
        _ports.Out8(_commandBlock + RegCommand, write ? (ext ? CmdWriteSectorsExt : CmdWriteSectors) : (ext ? CmdReadSectorsExt : CmdReadSectors));
        int r;
        byte status;
        if (write)
        {
            r = PollDrq(out status);
            if (r != Err.Ok) return r;
        }
        for (int s = 0; s < count; s++)
        {
            long at = Buffer + (long)s * SectorSize;
            if (write)
            {
                _ports.WriteData(_commandBlock + RegData, at, SectorSize);
                r = WaitCommand(out status);
                if (r != Err.Ok) return r;
                if ((status & (StErr | StDf)) != 0) return Err.EIO;
                if (s < count - 1 && (status & StDrq) == 0) return Err.EIO;
            }
            else
            {
                r = WaitCommand(out status);
                if (r != Err.Ok) return r;
                if ((status & (StErr | StDf | StDrq)) != StDrq) return Err.EIO;
                _ports.ReadData(_commandBlock + RegData, at, SectorSize);
            }
            if (_ports.Error != Err.Ok) return _ports.Error;
        }
        return Err.Ok;
    }

    /// <summary>Polls the alternate status until the drive asks for data (DRQ) or fails.</summary>
    private int PollDrq(out byte status)
    {
        status = 0;
        for (int i = 0; i < DrqPolls && _ports.Error == Err.Ok; i++)
        {
            status = _ports.In8(_controlPort);
            if ((status & StBsy) != 0) continue;
            if ((status & (StErr | StDf)) != 0) return Err.EIO;
            if ((status & StDrq) != 0) return Err.Ok;
        }
        return _ports.Error != Err.Ok ? _ports.Error : Err.ETIMEDOUT;
    }
}
