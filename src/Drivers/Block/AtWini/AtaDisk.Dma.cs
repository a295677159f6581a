// Bus-master DMA transfers of the ATA disk ("Programming Interface for Bus Master IDE
// Controller" rev 1.0): READ/WRITE DMA (EXT) between the disk and the bounce buffer, described
// by a PRD table in the first page of the driver's DMA region — one entry per 64 KiB, the last
// with end of table — whose bus addresses the IOMMU lets the IDE function reach (and nothing
// else). Sequence: PRD table address (once), then in one VDEVIO: clear the bus master's error
// and interrupt bits, direction, task file and command, start; at the interrupt: Status and the
// bus master status in one VDEVIO, then stop and clear in one more. Every kernel call is an
// IPC round trip here, so a transfer costs five of them, not twelve.
// Rules: the bus master's error bit (the IOMMU refused an access, a bad table) answers
// DmaFailed, and the caller falls back to PIO; a drive error is EIO and retried.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Drivers.Block.AtWini;

internal sealed partial class AtaDisk
{
    private const int BmCommand = 0, BmStatus = 2, BmPrdTable = 4;
    private const byte BmStart = 0x01, BmToMemory = 0x08, BmError = 0x02, BmInterrupt = 0x04;
    private const uint PrdEnd = 0x8000_0000;
    private const int PrdChunk = 0x10000;

    /// <summary>Internal result: the bus master failed (error bit); not an Err the client sees.</summary>
    private const int DmaFailed = int.MinValue;

    /// <summary>The PRD table's address is in the bus master's register (it never changes; a
    /// reset loads it again).</summary>
    private bool _prdLoaded;

    private int Dma(bool write, long lba, int count)
    {
        var ch = Channel.Current;
        int bytes = count * SectorSize;
        ulong data = _bus + PageSize;
        int entries = (bytes + PrdChunk - 1) / PrdChunk;
        for (int i = 0; i < entries; i++)
        {
            int n = Math.Min(PrdChunk, bytes - i * PrdChunk);
            ch.At<uint>(_region + 8L * i) = (uint)(data + (ulong)(i * PrdChunk));
            ch.At<uint>(_region + 8L * i + 4) = (uint)(n & 0xFFFF) | (i == entries - 1 ? PrdEnd : 0); // 0 = 64 KiB
        }
        byte direction = write ? (byte)0 : BmToMemory;
        if (!_prdLoaded)
        {
            _ports.Out32(_busMaster + BmPrdTable, (uint)_bus);
            _prdLoaded = true;
        }
        _ports.Queue(_busMaster + BmStatus, BmError | BmInterrupt);
        _ports.Queue(_busMaster + BmCommand, direction);
        bool ext = NeedsExt(lba, count);
        QueueSelect(lba, count, ext);
        _ports.Queue(_commandBlock + RegCommand, write ? (ext ? CmdWriteDmaExt : CmdWriteDma) : (ext ? CmdReadDmaExt : CmdReadDma));
        _ports.Queue(_busMaster + BmCommand, (byte)(direction | BmStart));
        _ports.WriteQueued();
        int r = WaitCommand(out byte status, _busMaster + BmStatus, out byte bm);
        if (r != Err.Ok) bm = _ports.In8(_busMaster + BmStatus);
        _ports.Queue(_busMaster + BmCommand, direction);
        _ports.Queue(_busMaster + BmStatus, (byte)(bm & (BmError | BmInterrupt)));
        _ports.WriteQueued();
        if (_ports.Error != Err.Ok) return _ports.Error;
        if ((bm & BmError) != 0) return DmaFailed;
        if (r != Err.Ok) return r;
        return (status & (StErr | StDf)) != 0 ? Err.EIO : Err.Ok;
    }
}
