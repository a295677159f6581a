// The bus-master IDE block of the ATA model (BAR4; "Programming Interface for Bus Master IDE
// Controller" rev 1.0) and the DMA it does through the IOMMU. Registers of this channel, from
// its base (BAR4+0 for the primary channel, BAR4+8 for the secondary): command +0 (start 0x01,
// direction 0x08 = write memory), status +2 (active 0x01, error 0x02 and interrupt 0x04
// write-1-to-clear, drive DMA-capable 0x20/0x40 plain read/write), PRD table address +4 (32
// bits, dword aligned). +1, +3 and the other channel's eight ports read 0 and drop writes (that
// channel is not in this function). Setting start makes the channel active; the transfer
// runs as soon as a READ/WRITE DMA command is pending as well, whichever came first. It walks
// the PRD table (8-byte entries: address, byte count with 0 = 64 KiB, end of table in bit 31;
// at most 8192 entries, the 64 KiB a table may span) moving the command's sectors between the
// image and memory. Outcome, as the programming interface's status table says: PRDs exactly
// used up — interrupt, not active; PRDs left over — interrupt and still active until the driver
// clears start. Errors end the command with ERR and ABRT in the drive and set the error bit
// (not active, interrupt): a PRD or data access the IOMMU refuses (also the PCI status's
// received-target-abort bit), a table that ends before the transfer does or runs past 8192
// entries, bus mastering disabled in the PCI command register, or a direction bit that
// contradicts the command. Bytes of the entries before the failing one have moved, as on
// hardware; the refused access itself moves nothing. Clearing start stops the channel; a
// DMA command still pending then stays BSY until a soft reset.
using System.Buffers.Binary;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;
using static Bulkhead.Machine.Storage.DiskImage;

namespace Bulkhead.Machine.Devices.Ata;

public sealed partial class AtaController
{
    private enum DmaOutcome
    {
        Done,
        BusError,  // the IOMMU refused an access: error bit and PCI target abort
        BadTable,  // the PRD table is shorter than the transfer (or too long), bus mastering off, wrong direction
        DiskError, // the host could not read or write the image
    }

    // All below guarded by _lock.
    private readonly byte[] _chunk = new byte[0x10000]; // one PRD entry's worth of data
    private byte _bmCommand, _bmStatus;
    private uint _prdTable;

    private uint ReadBusMaster(int offset, int size)
    {
        if (!Config.IoSpaceEnabled) return size == 4 ? 0xFFFF_FFFF : (1u << (8 * size)) - 1;
        lock (_lock)
        {
            uint v = 0;
            for (int i = 0; i < size; i++)
            {
                int at = offset + i, off = at - _bmBase;
                uint b = at is < 0 or >= BusMasterLength ? 0xFFu : off switch
                {
                    BmCommand => _bmCommand,
                    BmStatus => _bmStatus,
                    >= BmPrdTable and < BmPrdTable + 4 => (_prdTable >> (8 * (off - BmPrdTable))) & 0xFF,
                    _ => 0,
                };
                v |= b << (8 * i);
            }
            return v;
        }
    }

    private void WriteBusMaster(int offset, int size, uint value)
    {
        if (!Config.IoSpaceEnabled) return;
        lock (_lock)
        {
            for (int i = 0; i < size; i++)
            {
                int off = offset + i - _bmBase;
                byte b = (byte)(value >> (8 * i));
                switch (off)
                {
                    case BmCommand:
                        WriteBmCommandUnsynchronized(b);
                        break;
                    case BmStatus:
                        const byte capable = BmStatusDrive0Dma | BmStatusDrive1Dma;
                        _bmStatus = (byte)((_bmStatus & ~capable) | (b & capable));
                        _bmStatus &= (byte)~(b & (BmStatusError | BmStatusInterrupt));
                        break;
                    case >= BmPrdTable and < BmPrdTable + 4:
                        int shift = 8 * (off - BmPrdTable);
                        _prdTable = ((_prdTable & ~(0xFFu << shift)) | ((uint)b << shift)) & ~3u;
                        break;
                    default:
                        break;
                }
            }
        }
    }

    private void WriteBmCommandUnsynchronized(byte value)
    {
        if ((value & BmCommandStart) == 0)
        {
            _bmCommand = (byte)(value & BmCommandWrite);
            _bmStatus &= unchecked((byte)~BmStatusActive);
            return;
        }
        if ((_bmCommand & BmCommandStart) != 0) return; // the direction must not change while started
        _bmCommand = (byte)(value & (BmCommandStart | BmCommandWrite));
        _bmStatus |= BmStatusActive;
        RunDmaUnsynchronized();
    }

    private void StartDmaUnsynchronized(bool ext, bool write)
    {
        if (!TryAddressUnsynchronized(ext, out _lba, out _remaining))
        {
            CompleteUnsynchronized(ErrorIdnf);
            return;
        }
        _transfer = write ? Transfer.DmaOut : Transfer.DmaIn;
        _status = StatusBsy | StatusIdle;
        RunDmaUnsynchronized();
    }

    /// <summary>Runs the pending DMA command if the channel is started and active.</summary>
    private void RunDmaUnsynchronized()
    {
        if (_transfer is not (Transfer.DmaIn or Transfer.DmaOut)) return;
        if ((_bmCommand & BmCommandStart) == 0 || (_bmStatus & BmStatusActive) == 0) return;
        bool toMemory = _transfer == Transfer.DmaIn;
        var outcome = TransferUnsynchronized(toMemory, out bool prdsLeft);
        if (outcome != DmaOutcome.Done || !prdsLeft) _bmStatus &= unchecked((byte)~BmStatusActive);
        switch (outcome)
        {
            case DmaOutcome.Done:
                CompleteUnsynchronized(0);
                break;
            case DmaOutcome.DiskError:
                CompleteUnsynchronized(toMemory ? ErrorUnc : ErrorAbrt);
                break;
            default:
                if (outcome == DmaOutcome.BusError) Config.SetStatus(Pci.PciConfigSpace.StatusReceivedTargetAbort);
                _bmStatus |= BmStatusError;
                CompleteUnsynchronized(ErrorAbrt);
                break;
        }
    }

    /// <summary>Moves the command's sectors along the PRD table. <paramref name="prdsLeft"/>: the
    /// transfer ended before the table did.</summary>
    private DmaOutcome TransferUnsynchronized(bool toMemory, out bool prdsLeft)
    {
        prdsLeft = false;
        if (toMemory != ((_bmCommand & BmCommandWrite) != 0) || !Config.BusMasterEnabled) return DmaOutcome.BadTable;
        long total = (long)_remaining * SectorSize, done = 0, disk = _lba * SectorSize;
        Span<byte> prd = stackalloc byte[PrdSize];
        for (int entry = 0; done < total; entry++)
        {
            if (entry == PrdMaxEntries) return DmaOutcome.BadTable;
            if (!_dma.Read(_prdTable + (ulong)(entry * PrdSize), prd)) return DmaOutcome.BusError;
            uint address = BinaryPrimitives.ReadUInt32LittleEndian(prd) & ~1u, flags = BinaryPrimitives.ReadUInt32LittleEndian(prd[4..]);
            int count = (int)(flags & 0xFFFE);
            if (count == 0) count = 0x10000;
            int n = (int)Math.Min(count, total - done);
            var data = _chunk.AsSpan(0, n);
            if (toMemory)
            {
                if (!_disk.Read(disk + done, data)) return DmaOutcome.DiskError;
                if (!_dma.Write(address, data)) return DmaOutcome.BusError;
            }
            else
            {
                if (!_dma.Read(address, data)) return DmaOutcome.BusError;
                if (!_disk.Write(disk + done, data)) return DmaOutcome.DiskError;
            }
            done += n;
            bool last = (flags & PrdEndOfTable) != 0;
            if (done < total && last) return DmaOutcome.BadTable;
            if (done == total) prdsLeft = !last || n < count;
        }
        if (!toMemory && !_writeCache && !_disk.Flush()) return DmaOutcome.DiskError;
        _remaining = 0;
        return DmaOutcome.Done;
    }
}
