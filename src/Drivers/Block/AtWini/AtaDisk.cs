// The ATA disk as an IBlockDevice: initialization (PCI function, DMA region, IRQ, reset,
// IDENTIFY), command issue and completion, and the retry policy. One instance drives the master
// disk of one channel, primary or secondary, at that channel's legacy ports and IRQ. The transfers themselves are
// in AtaDisk.Dma.cs (bus-master DMA through the bounce buffer) and AtaDisk.Pio.cs.
// A command completes with its interrupt: WaitCommand waits for the HARDWARE notification
// (BlockDriver.WaitInterrupt keeps requests that arrive meanwhile), reads Status — which
// acknowledges the drive's interrupt — and re-enables the line with IRQCTL. A command whose
// interrupt does not come within the timeout, or that ends with ERR/DF, is retried after a soft
// reset, at most MaxAttempts times in all; then the request gets EIO. A DMA failure (the bus
// master's error bit: an access the IOMMU refused, a bad PRD table) switches the driver to PIO
// for good, with a message, and the transfer is retried in PIO.
// Rules: nothing read from the device is trusted (IDENTIFY's sizes are bounded, status bits
// are checked before data moves); a refused port access means the driver lost its device: it
// panics and RS starts a new instance, which resets the controller.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.AtWini;

internal sealed partial class AtaDisk : IBlockDevice
{
    public const ushort Vendor = 0x8086, Device = 0x7010;
    public const int SectorSize = 512, MaxAttempts = 3;

    // Legacy ports and IRQs of the two channels in compatibility mode, and the registers (ATA/ATAPI-6).
    private const int PrimaryCommandBlock = 0x1F0, PrimaryControl = 0x3F6, PrimaryIrq = 14;
    private const int SecondaryCommandBlock = 0x170, SecondaryControl = 0x376, SecondaryIrq = 15;
    private const int RegData = 0, RegFeatures = 1, RegError = 1, RegCount = 2, RegLbaLow = 3, RegLbaMid = 4, RegLbaHigh = 5,
        RegDevice = 6, RegStatus = 7, RegCommand = 7;
    private const byte StErr = 0x01, StDrq = 0x08, StDf = 0x20, StBsy = 0x80;
    private const byte CtlNien = 0x02, CtlSrst = 0x04;
    private const byte DevLba = 0xE0; // LBA, master (bits 7 and 5 obsolete, set)
    private const byte CmdReadSectors = 0x20, CmdReadSectorsExt = 0x24, CmdWriteSectors = 0x30, CmdWriteSectorsExt = 0x34,
        CmdReadDma = 0xC8, CmdReadDmaExt = 0x25, CmdWriteDma = 0xCA, CmdWriteDmaExt = 0x35,
        CmdFlushCache = 0xE7, CmdFlushCacheExt = 0xEA, CmdIdentify = 0xEC;
    private const long Lba28Limit = 0x0FFFFFFF;

    // PCI: the command register, the bus-master BAR (a channel's registers at +0 or +8), the
    // programming interface's native-mode bits (primary bit 0, secondary bit 2) and PIIX3's IDE
    // timing registers (primary 0x40, secondary 0x42; bit 15: the channel's ports decode).
    private const int PciCommand = 0x04, BusMasterBar = 4, BusMasterChannelPorts = 8;
    private const ushort PciCommandIo = 0x0001, PciCommandMaster = 0x0004;
    private const uint ProgIfPrimaryNative = 0x01, ProgIfSecondaryNative = 0x04;
    private const int IdeTimingPrimary = 0x40, IdeTimingSecondary = 0x42;
    private const uint IdeTimingDecodeEnable = 0x8000;

    // The bounce buffer (also the PIO staging buffer): 256 sectors, one LBA28 command.
    private const int BounceBytes = 128 * 1024, PageSize = 4096;
    private const int HookId = 0;

    private readonly AtaPorts _ports = new();
    private readonly long _timeoutNs;
    private readonly bool _secondary;
    private readonly int _commandBlock, _controlPort;
    private BlockDriver? _driver;
    private bool _dma;
    private int _bdf = -1, _busMaster = -1, _irq;
    private long _region = -1; // page-aligned: PRD table page, then the bounce buffer
    private ulong _bus;        // bus address of _region
    private long _sectors;
    private bool _lba48;
    private string _model = "";

    /// <param name="secondary">drive the secondary channel (0x170, 0x376, IRQ 15), not the primary</param>
    public AtaDisk(bool pio, long timeoutNs, bool secondary = false)
    {
        _dma = !pio;
        _timeoutNs = timeoutNs;
        _secondary = secondary;
        (_commandBlock, _controlPort, _irq) = secondary
            ? (SecondaryCommandBlock, SecondaryControl, SecondaryIrq)
            : (PrimaryCommandBlock, PrimaryControl, PrimaryIrq);
    }

    public bool Partitioned => true;
    public int Units => 1;
    public long Buffer => _region + PageSize;
    public int BufferBytes => BounceBytes;

    /// <summary>True while transfers use bus-master DMA.</summary>
    public bool UsesDma => _dma;

    public int Init(BlockDriver driver)
    {
        _driver = driver;
        int r = _ports.Init();
        if (r != Err.Ok) return r;
        long block = ArenaHeap.Allocate(PageSize + BounceBytes + PageSize);
        if (block < 0) return Fail("no memory for the bounce buffer", Err.ENOMEM);
        _region = (block + PageSize - 1) & ~(long)(PageSize - 1);

        if (_dma)
        {
            r = SetUpDma();
            if (r != Err.Ok)
            {
                SysCall.Diag($"at_wini: no DMA ({Err.Name(r)}): using PIO");
                _dma = false;
            }
        }
        r = SysCall.IrqCtl(IrqCtlRequest.SetPolicy, _irq, HookId);
        if (r != Err.Ok) return Fail($"cannot hook IRQ {_irq}", r);

        Reset();
        r = Identify();
        if (r != Err.Ok) return Fail("no disk answers IDENTIFY", r);
        SysCall.Diag($"at_wini: {_model}, {_sectors} sectors ({_sectors * SectorSize / (1024 * 1024)} MiB){(_lba48 ? ", LBA48" : "")}, irq {_irq}, "
                     + (_dma ? $"{PciCall.Bdf(_bdf)} bus master io 0x{_busMaster:x} dma 0x{_bus:x}" : "pio"));
        return Err.Ok;
    }

    /// <summary>The IDE function of this channel from the PCI-bus driver, bus mastering on, the DMA region pinned and in its IOMMU domain.</summary>
    private int SetUpDma()
    {
        int r = FindFunction(out _bdf);
        if (r != Err.Ok) return r;
        r = PciClient.Reserve(_bdf, out var res);
        if (r != Err.Ok) return r;
        var bar = res.Bars[BusMasterBar];
        int half = _secondary ? BusMasterChannelPorts : 0;
        if (bar.Size < half + BusMasterChannelPorts) return Err.ENODEV;
        _busMaster = bar.Base + half;
        if (res.Irq > 0) _irq = res.Irq;
        r = PciClient.ReadConfig(_bdf, PciCommand, 2, out uint cmd);
        if (r == Err.Ok) r = PciClient.WriteConfig(_bdf, PciCommand, 2, cmd | PciCommandIo | PciCommandMaster);
        if (r != Err.Ok) return r;
        r = SysCall.MapDma(_region, PageSize + BounceBytes, out _bus);
        if (r != Err.Ok) return r;
        if (_bus + PageSize + BounceBytes > 0x1_0000_0000UL) return Err.ERANGE; // PRDs hold 32-bit addresses
        return IommuClient.Map(_bdf, _bus, PageSize + BounceBytes);
    }

    /// <summary>The first granted IDE function (in bus order) that carries this driver's channel in
    /// compatibility mode: its IDE timing register for the channel has decode enabled, as firmware
    /// leaves a PIIX3 channel it enabled. Read before reserving, so a driver never takes — not
    /// even for a moment — the function of the other channel's disk; two drivers started at once
    /// each find their own. ENODEV when no granted function carries the channel.</summary>
    private int FindFunction(out int bdf)
    {
        bdf = -1;
        uint native = _secondary ? ProgIfSecondaryNative : ProgIfPrimaryNative;
        int timing = _secondary ? IdeTimingSecondary : IdeTimingPrimary;
        int r = PciClient.FirstDevice(out var dev);
        for (; r == Err.Ok; r = PciClient.NextDevice(dev.Bdf, out dev))
        {
            if (dev.Vendor != Vendor || dev.Device != Device || (dev.ClassCode & native) != 0) continue;
            if (PciClient.ReadConfig(dev.Bdf, timing, 2, out uint idetim) != Err.Ok || (idetim & IdeTimingDecodeEnable) == 0) continue;
            bdf = dev.Bdf;
            return Err.Ok;
        }
        return r == Err.ENOENT ? Err.ENODEV : r;
    }

    public int Describe(int unit, out long bytes, out int sectorSize)
    {
        (bytes, sectorSize) = (_sectors * SectorSize, SectorSize);
        return unit == 0 ? Err.Ok : Err.ENXIO;
    }

    public long Direct(int unit, long position, int bytes) => -1;

    public int Opened(int unit) => 0;

    public int Ioctl(int unit, int code, long argument) => Err.ENOTTY;

    public void OnInterrupt(ulong hooks)
    {
        // An interrupt no command waited for (a late one after a timeout): acknowledge it.
        if ((hooks & (1UL << HookId)) == 0) return;
        _ports.In8(_commandBlock + RegStatus);
        SysCall.IrqCtl(IrqCtlRequest.Enable, _irq, HookId);
        CheckPorts();
    }

    public int Transfer(int unit, bool write, long position, int bytes)
    {
        if (unit != 0 || position < 0 || position % SectorSize != 0 || bytes <= 0 || bytes > BounceBytes || bytes % SectorSize != 0) return Err.EINVAL;
        long lba = position / SectorSize;
        int count = bytes / SectorSize;
        if (lba + count > _sectors) return Err.EIO;
        for (int attempt = 1; ; attempt++)
        {
            int r = _dma ? Dma(write, lba, count) : Pio(write, lba, count);
            CheckPorts();
            if (r == Err.Ok) return bytes;
            if (r == DmaFailed)
            {
                SysCall.Diag($"at_wini: DMA {(write ? "write" : "read")} of {count} sectors at {lba} failed: falling back to PIO");
                _dma = false;
                Reset();
                attempt--;
                continue;
            }
            SysCall.Diag($"at_wini: {(write ? "write" : "read")} of {count} sectors at {lba} failed ({Err.Name(r)}), attempt {attempt} of {MaxAttempts}");
            Reset();
            if (attempt >= MaxAttempts) return Err.EIO;
        }
    }

    public int Flush(int unit)
    {
        for (int attempt = 1; ; attempt++)
        {
            Select(0, 0, ext: false);
            _ports.Out8(_commandBlock + RegCommand, _lba48 ? CmdFlushCacheExt : CmdFlushCache);
            int r = WaitCommand(out byte status);
            CheckPorts();
            if (r == Err.Ok && (status & (StErr | StDf)) == 0) return Err.Ok;
            SysCall.Diag($"at_wini: FLUSH CACHE failed ({(r != Err.Ok ? Err.Name(r) : $"status 0x{status:x2}")}), attempt {attempt} of {MaxAttempts}");
            Reset();
            if (attempt >= MaxAttempts) return Err.EIO;
        }
    }

    /// <summary>IDENTIFY DEVICE: the model name, LBA48, and the capacity.</summary>
    private int Identify()
    {
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            _ports.Out8(_commandBlock + RegDevice, DevLba);
            _ports.Out8(_commandBlock + RegCommand, CmdIdentify);
            int r = WaitCommand(out byte status);
            CheckPorts();
            if (r == Err.Ok && status == 0) return Err.ENODEV; // no device
            if (r != Err.Ok || (status & (StErr | StDrq)) != StDrq)
            {
                Reset();
                continue;
            }
            _ports.ReadData(_commandBlock + RegData, Buffer, SectorSize);
            CheckPorts();
            byte[] id = Channel.Current.Arena.Slice((int)Buffer, SectorSize).ToArray();
            ushort Word(int i) => (ushort)(id[2 * i] | id[2 * i + 1] << 8);
            if ((Word(49) & 0x0200) == 0) return Err.ENODEV; // no LBA: CHS-only disks are not supported
            long lba28 = Word(60) | (long)Word(61) << 16;
            long lba48 = Word(100) | (long)Word(101) << 16 | (long)Word(102) << 32 | (long)Word(103) << 48;
            _lba48 = (Word(83) & 0x0400) != 0 && lba48 > 0;
            _sectors = _lba48 ? Math.Min(lba48, 1L << 48) : Math.Min(lba28, Lba28Limit);
            var name = new char[40];
            for (int i = 0; i < 20; i++) (name[2 * i], name[2 * i + 1]) = ((char)id[54 + 2 * i + 1], (char)id[54 + 2 * i]);
            _model = new string(name.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray()).Trim();
            return _sectors > 0 ? Err.Ok : Err.ENODEV;
        }
        return Err.EIO;
    }

    /// <summary>Writes the task file for <paramref name="count"/> sectors at <paramref name="lba"/>
    /// (count 256 as 0, or 65536 as 0 with <paramref name="ext"/>), all in one VDEVIO.</summary>
    private void Select(long lba, int count, bool ext)
    {
        QueueSelect(lba, count, ext);
        _ports.WriteQueued();
    }

    /// <summary>Queues Select's writes; the caller adds its own and writes the queue.</summary>
    private void QueueSelect(long lba, int count, bool ext)
    {
        int b = _commandBlock;
        _ports.Queue(b + RegFeatures, 0);
        if (ext)
        {
            // The high bytes first: the EXT commands take them from each register's previous value.
            _ports.Queue(b + RegCount, (byte)(count >> 8));
            _ports.Queue(b + RegLbaLow, (byte)(lba >> 24));
            _ports.Queue(b + RegLbaMid, (byte)(lba >> 32));
            _ports.Queue(b + RegLbaHigh, (byte)(lba >> 40));
            _ports.Queue(b + RegCount, (byte)count);
            _ports.Queue(b + RegLbaLow, (byte)lba);
            _ports.Queue(b + RegLbaMid, (byte)(lba >> 8));
            _ports.Queue(b + RegLbaHigh, (byte)(lba >> 16));
            _ports.Queue(b + RegDevice, DevLba);
        }
        else
        {
            _ports.Queue(b + RegCount, (byte)count);
            _ports.Queue(b + RegLbaLow, (byte)lba);
            _ports.Queue(b + RegLbaMid, (byte)(lba >> 8));
            _ports.Queue(b + RegLbaHigh, (byte)(lba >> 16));
            _ports.Queue(b + RegDevice, (byte)(DevLba | ((lba >> 24) & 0x0F)));
        }
    }

    /// <summary>LBA48 when the range reaches past what LBA28 addresses.</summary>
    private bool NeedsExt(long lba, int count) => _lba48 && (lba + count > Lba28Limit || count > 256);

    /// <summary>Waits for the command's interrupt, then reads Status (acknowledging it) and
    /// re-enables the line. ETIMEDOUT when no interrupt leaves the drive not busy in time.</summary>
    private int WaitCommand(out byte status) => WaitCommand(out status, -1, out _);

    /// <summary>WaitCommand that also reads register <paramref name="alsoPort"/> (≥ 0) in the same
    /// VDEVIO as Status, once the command is done: the bus master's status after a DMA.</summary>
    private int WaitCommand(out byte status, int alsoPort, out byte also)
    {
        status = 0;
        also = 0xFF;
        while (true)
        {
            int r = _driver!.WaitInterrupt(_timeoutNs, out ulong hooks);
            if (r != Err.Ok)
            {
                status = _ports.In8(_controlPort); // alternate status, for the message
                return r;
            }
            if ((hooks & (1UL << HookId)) == 0) continue;
            if (alsoPort >= 0) (status, also) = _ports.In8Pair(_commandBlock + RegStatus, alsoPort);
            else status = _ports.In8(_commandBlock + RegStatus);
            SysCall.IrqCtl(IrqCtlRequest.Enable, _irq, HookId);
            if (_ports.Error != Err.Ok) return _ports.Error;
            if ((status & StBsy) == 0) return Err.Ok;
        }
    }

    /// <summary>Soft reset of the channel (SRST), interrupts enabled again, the bus master stopped.</summary>
    private void Reset()
    {
        _prdLoaded = false;
        _ports.Out8(_controlPort, CtlSrst | CtlNien);
        _ports.Out8(_controlPort, 0);
        for (int i = 0; i < 100_000 && (_ports.In8(_controlPort) & StBsy) != 0 && _ports.Error == Err.Ok; i++) { }
        if (_busMaster >= 0)
        {
            _ports.Out8(_busMaster + BmCommand, 0);
            _ports.Out8(_busMaster + BmStatus, BmError | BmInterrupt);
        }
        _ports.Out8(_commandBlock + RegDevice, DevLba);
        _ports.In8(_commandBlock + RegStatus); // drop an interrupt the reset left pending
        CheckPorts();
    }

    /// <summary>A refused port access: the driver's world changed under it; RS starts a new instance.</summary>
    private void CheckPorts()
    {
        if (_ports.Error == Err.Ok) return;
        string why = $"lost the disk controller: port access refused ({Err.Name(_ports.Error)})";
        SysCall.Diag("at_wini: " + why);
        ServiceRuntime.Panic(why);
    }

    private static int Fail(string what, int r)
    {
        SysCall.Diag($"at_wini: {what}: {Err.Name(r)}");
        return r == Err.Ok ? Err.EIO : r;
    }
}
