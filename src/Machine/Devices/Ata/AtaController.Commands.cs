// Command decode and PIO of the ATA model. A command written to the Command register (master
// selected, not BSY, not DRQ) clears Error and the pending interrupt and runs at once:
// IDENTIFY DEVICE, READ/WRITE SECTORS (EXT), READ/WRITE MULTIPLE (EXT), READ/WRITE DMA (EXT),
// FLUSH CACHE (EXT), SET FEATURES (transfer mode, write cache, look-ahead, revert defaults),
// SET MULTIPLE MODE, INITIALIZE DEVICE PARAMETERS, RECALIBRATE and EXECUTE DEVICE DIAGNOSTIC;
// anything else ends with ERR and ABRT. Addresses: LBA28 from LBA low/mid/high and Device bits
// 0–3 (Device bit 6 set; clear means CHS through the current translation), count 0 = 256;
// the EXT commands take the high bytes from the registers' previous values, count 0 = 65536.
// A range past the end of the disk (for LBA28, past 0x0FFFFFFF) ends with ERR and IDNF before
// anything moves. PIO follows the standard's protocols: a read raises DRQ and an interrupt for
// every block (one sector, or the multiple count), the last word read ends the command without
// one; a write raises DRQ for the first block without an interrupt and an interrupt after every
// block, the last included. A data-port access without DRQ reads 0 and writes nothing. A host
// I/O error ends the command with ERR and UNC (read) or ABRT (write). Writes go through to the
// image; with the write cache disabled (SET FEATURES 0x82) each write command also flushes.
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;
using static Bulkhead.Machine.Storage.DiskImage;

namespace Bulkhead.Machine.Devices.Ata;

public sealed partial class AtaController
{
    private enum Transfer
    {
        None,
        PioIn,
        PioOut,
        DmaIn,  // READ DMA: disk to memory, waiting for the bus master
        DmaOut, // WRITE DMA: memory to disk, waiting for the bus master
    }

    // All below guarded by _lock.
    private readonly byte[] _buffer = new byte[AtaIdentify.MaxMultiple * SectorSize];
    private Transfer _transfer;
    private long _lba;       // next sector of the transfer
    private int _remaining;  // sectors still to transfer
    private int _block;      // sectors per DRQ block
    private int _pos, _end;  // PIO: bytes of _buffer moved, bytes in this block
    private int _multiple;   // SET MULTIPLE MODE count, 0 = disabled
    private byte _transferMode;
    private bool _writeCache;
    private int _heads, _sectorsPerTrack; // CHS translation

    private void ExecuteUnsynchronized(byte command)
    {
        _error = 0;
        _status = StatusIdle;
        _irqPending = false;
        UpdateIrqUnsynchronized();
        switch (command)
        {
            case CmdIdentify:
                AtaIdentify.Build(new AtaIdentify.Settings(_disk.Sectors, _serial, _multiple, _transferMode, _writeCache,
                    _heads, _sectorsPerTrack), _buffer);
                (_transfer, _remaining, _block, _lba) = (Transfer.PioIn, 1, 1, -1);
                ShowBlockUnsynchronized(SectorSize);
                break;
            case CmdReadSectors: StartPioUnsynchronized(ext: false, write: false, 1); break;
            case CmdReadSectorsExt: StartPioUnsynchronized(ext: true, write: false, 1); break;
            case CmdWriteSectors: StartPioUnsynchronized(ext: false, write: true, 1); break;
            case CmdWriteSectorsExt: StartPioUnsynchronized(ext: true, write: true, 1); break;
            case CmdReadMultiple: StartPioUnsynchronized(ext: false, write: false, _multiple); break;
            case CmdReadMultipleExt: StartPioUnsynchronized(ext: true, write: false, _multiple); break;
            case CmdWriteMultiple: StartPioUnsynchronized(ext: false, write: true, _multiple); break;
            case CmdWriteMultipleExt: StartPioUnsynchronized(ext: true, write: true, _multiple); break;
            case CmdReadDma: StartDmaUnsynchronized(ext: false, write: false); break;
            case CmdReadDmaExt: StartDmaUnsynchronized(ext: true, write: false); break;
            case CmdWriteDma: StartDmaUnsynchronized(ext: false, write: true); break;
            case CmdWriteDmaExt: StartDmaUnsynchronized(ext: true, write: true); break;
            case CmdFlushCache or CmdFlushCacheExt: CompleteUnsynchronized(_disk.Flush() ? (byte)0 : ErrorAbrt); break;
            case CmdSetFeatures: CompleteUnsynchronized(SetFeaturesUnsynchronized() ? (byte)0 : ErrorAbrt); break;
            case CmdSetMultiple:
                bool valid = _count <= AtaIdentify.MaxMultiple && (_count & (_count - 1)) == 0;
                if (valid) _multiple = _count;
                CompleteUnsynchronized(valid ? (byte)0 : ErrorAbrt);
                break;
            case CmdInitializeParameters:
                if (_count != 0) (_heads, _sectorsPerTrack) = ((_device & DeviceHeadMask) + 1, _count);
                CompleteUnsynchronized(_count != 0 ? (byte)0 : ErrorAbrt);
                break;
            case >= CmdRecalibrate and <= CmdRecalibrate + 0x0F: CompleteUnsynchronized(0); break;
            case CmdExecuteDiagnostic:
                ResetDriveUnsynchronized();
                RaiseIrqUnsynchronized();
                break;
            default: CompleteUnsynchronized(ErrorAbrt); break;
        }
    }

    /// <summary>Ends a command that moves no data: ready, with ERR and <paramref name="error"/> when not 0, interrupt.</summary>
    private void CompleteUnsynchronized(byte error)
    {
        _transfer = Transfer.None;
        _error = error;
        _status = error == 0 ? StatusIdle : (byte)(StatusIdle | StatusErr);
        RaiseIrqUnsynchronized();
    }

    private void StopTransferUnsynchronized()
    {
        _transfer = Transfer.None;
        _status &= unchecked((byte)~StatusDrq);
    }

    /// <summary>The command's first sector and count from the task file; false (IDNF) when the
    /// range does not fit the disk or the address does not exist.</summary>
    private bool TryAddressUnsynchronized(bool ext, out long lba, out int count)
    {
        long limit = _disk.Sectors;
        if (ext)
        {
            lba = ((long)_lbaHighPrev << 40) | ((long)_lbaMidPrev << 32) | ((long)_lbaLowPrev << 24)
                | ((long)_lbaHigh << 16) | ((long)_lbaMid << 8) | _lbaLow;
            count = (_countPrev << 8) | _count;
            if (count == 0) count = 0x10000;
        }
        else
        {
            count = _count == 0 ? 0x100 : _count;
            limit = Math.Min(limit, AtaIdentify.Lba28Limit);
            if ((_device & DeviceLba) != 0)
            {
                lba = ((long)(_device & DeviceHeadMask) << 24) | ((long)_lbaHigh << 16) | ((long)_lbaMid << 8) | _lbaLow;
            }
            else
            {
                int cylinder = (_lbaHigh << 8) | _lbaMid, head = _device & DeviceHeadMask, sector = _lbaLow;
                if (sector == 0 || sector > _sectorsPerTrack || head >= _heads)
                {
                    lba = -1;
                    return false;
                }
                lba = ((long)cylinder * _heads + head) * _sectorsPerTrack + sector - 1;
            }
        }
        return lba + count <= limit;
    }

    private void StartPioUnsynchronized(bool ext, bool write, int block)
    {
        if (block == 0)
        {
            CompleteUnsynchronized(ErrorAbrt); // READ/WRITE MULTIPLE before SET MULTIPLE MODE
            return;
        }
        if (!TryAddressUnsynchronized(ext, out _lba, out _remaining))
        {
            CompleteUnsynchronized(ErrorIdnf);
            return;
        }
        _block = block;
        if (write)
        {
            _transfer = Transfer.PioOut;
            ShowBlockUnsynchronized(Math.Min(_block, _remaining) * SectorSize, interrupt: false);
        }
        else
        {
            _transfer = Transfer.PioIn;
            LoadBlockUnsynchronized();
        }
    }

    /// <summary>PIO in: the next block from the disk into the buffer, DRQ and an interrupt.</summary>
    private void LoadBlockUnsynchronized()
    {
        int bytes = Math.Min(_block, _remaining) * SectorSize;
        if (!_disk.Read(_lba * SectorSize, _buffer.AsSpan(0, bytes)))
        {
            CompleteUnsynchronized(ErrorUnc);
            return;
        }
        ShowBlockUnsynchronized(bytes);
    }

    private void ShowBlockUnsynchronized(int bytes, bool interrupt = true)
    {
        (_pos, _end) = (0, bytes);
        _status = StatusIdle | StatusDrq;
        if (interrupt) RaiseIrqUnsynchronized();
    }

    private uint ReadDataUnsynchronized(int size)
    {
        uint v = ReadWordUnsynchronized();
        return size == 4 ? v | ((uint)ReadWordUnsynchronized() << 16) : v;
    }

    private void WriteDataUnsynchronized(int size, uint value)
    {
        WriteWordUnsynchronized((ushort)value);
        if (size == 4) WriteWordUnsynchronized((ushort)(value >> 16));
    }

    private ushort ReadWordUnsynchronized()
    {
        if (SlaveSelected || _transfer != Transfer.PioIn || (StatusUnsynchronized & StatusDrq) == 0) return 0;
        ushort w = (ushort)(_buffer[_pos] | (_buffer[_pos + 1] << 8));
        _pos += 2;
        if (_pos < _end) return w;
        int sectors = _end / SectorSize;
        (_remaining, _lba) = (_remaining - sectors, _lba + sectors);
        if (_remaining > 0)
        {
            LoadBlockUnsynchronized();
        }
        else
        {
            _transfer = Transfer.None;
            _status = StatusIdle;
        }
        return w;
    }

    private void WriteWordUnsynchronized(ushort w)
    {
        if (SlaveSelected || _transfer != Transfer.PioOut || (StatusUnsynchronized & StatusDrq) == 0) return;
        _buffer[_pos] = (byte)w;
        _buffer[_pos + 1] = (byte)(w >> 8);
        _pos += 2;
        if (_pos < _end) return;
        if (!_disk.Write(_lba * SectorSize, _buffer.AsSpan(0, _end)) || (!_writeCache && _remaining == _end / SectorSize && !_disk.Flush()))
        {
            CompleteUnsynchronized(ErrorAbrt);
            return;
        }
        int sectors = _end / SectorSize;
        (_remaining, _lba) = (_remaining - sectors, _lba + sectors);
        if (_remaining > 0) ShowBlockUnsynchronized(Math.Min(_block, _remaining) * SectorSize);
        else CompleteUnsynchronized(0);
    }

    /// <summary>SET FEATURES by the Features register; false for a subcommand or mode it does not know.</summary>
    private bool SetFeaturesUnsynchronized()
    {
        switch (_features)
        {
            case FeatureSetTransferMode:
                byte mode = _count, kind = (byte)(mode & 0xF8);
                int n = mode & 7;
                bool known = mode is ModePioDefault or ModePioDefaultNoIordy
                    || (kind == ModePio && n <= 4) || (kind == ModeMultiwordDma && n <= 2) || (kind == ModeUltraDma && n <= 5);
                if (known) _transferMode = mode == ModePioDefaultNoIordy ? ModePioDefault : mode;
                return known;
            case FeatureEnableWriteCache:
                _writeCache = true;
                return true;
            case FeatureDisableWriteCache:
                _writeCache = false;
                return _disk.Flush(); // what the cache held must not be lost with it
            case FeatureEnableLookAhead or FeatureDisableLookAhead or FeatureEnableRevert or FeatureDisableRevert:
                return true;
            default:
                return false;
        }
    }
}
