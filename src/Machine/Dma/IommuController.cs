// The IOMMU's register window: the only way software programs the Iommu (the trusted IOMMU
// driver has these ports in its policy; Board registers them at 0xDE00). Interface: an
// IPortDevice of PortCount ports, 32-bit registers:
//   +0x00 DEVICE   r/w  requester id (bus<<8 | device<<3 | function) the next command applies to; low 16 bits
//   +0x04 FRAME    r/w  first page frame number
//   +0x08 COUNT    r/w  number of frames, 1..Iommu.MaxRange
//   +0x0C COMMAND  w    1 ALLOW [FRAME, FRAME+COUNT) to DEVICE, 2 REVOKE it, 3 RESET DEVICE
//                       (every frame withdrawn), 4 QUERY (all of it allowed?); reads 0
//   +0x10 STATUS   r    the last command's result: 0 done (QUERY: all allowed), 1 refused,
//                       2 QUERY: not all allowed
//   +0x14 DENIED   r    refused DMA accesses of DEVICE so far, saturated at uint.MaxValue
// Rules: a command first checks everything — COUNT in range, the range below the IOMMU's page
// limit, a known command, room in the device table for ALLOW — and is refused (STATUS 1, no
// state changed) if anything fails; ALLOW of a batch is all-or-nothing; REVOKE of frames that
// were not allowed is done (0); RESET and DENIED ignore FRAME and COUNT. Any access that is not
// 32 bits wide at a register's offset reads all ones and is dropped; nothing throws. Once a
// REVOKE or RESET write returns, the device can no longer reach those frames (Iommu's lock).
// Thread-safe: one lock guards the registers and is held across the command, so commands from
// two threads do not interleave (lock order: this, then the Iommu's).
using Bulkhead.Machine.Io;

namespace Bulkhead.Machine.Dma;

public sealed class IommuController : IPortDevice
{
    public const int PortCount = 32;

    // Register offsets.
    public const int DeviceOffset = 0x00, FrameOffset = 0x04, CountOffset = 0x08, CommandOffset = 0x0C,
        StatusOffset = 0x10, DeniedOffset = 0x14;

    // COMMAND values.
    public const uint CommandAllow = 1, CommandRevoke = 2, CommandReset = 3, CommandQuery = 4;

    // STATUS values.
    public const uint StatusDone = 0, StatusRefused = 1, StatusNotAllowed = 2;

    private readonly object _lock = new();
    private readonly Iommu _iommu;

    // All below guarded by _lock.
    private ushort _device;
    private uint _frame, _count, _status;

    public IommuController(Iommu iommu)
    {
        ArgumentNullException.ThrowIfNull(iommu);
        _iommu = iommu;
    }

    public string Name => "iommu";

    public uint Read(int offset, int size)
    {
        if (size != 4) return 0xFFFF_FFFF;
        lock (_lock)
        {
            return offset switch
            {
                DeviceOffset => _device,
                FrameOffset => _frame,
                CountOffset => _count,
                CommandOffset => 0,
                StatusOffset => _status,
                DeniedOffset => Saturate(_iommu.Denied(_device)),
                _ => 0xFFFF_FFFF,
            };
        }
    }

    public void Write(int offset, int size, uint value)
    {
        if (size != 4) return;
        lock (_lock)
        {
            switch (offset)
            {
                case DeviceOffset: _device = (ushort)value; break;
                case FrameOffset: _frame = value; break;
                case CountOffset: _count = value; break;
                case CommandOffset: _status = ExecuteUnsynchronized(value); break;
                default: break; // STATUS, DENIED and unused offsets are read-only
            }
        }
    }

    /// <summary>Runs <paramref name="command"/> on the DEVICE/FRAME/COUNT registers; returns STATUS.</summary>
    private uint ExecuteUnsynchronized(uint command)
    {
        if (command == CommandReset)
        {
            _iommu.Reset(_device);
            return StatusDone;
        }
        if (command is not (CommandAllow or CommandRevoke or CommandQuery)) return StatusRefused;
        if (_count is 0 or > Iommu.MaxRange || !_iommu.IsValidRange(_frame, (int)_count)) return StatusRefused;
        return command switch
        {
            CommandAllow => _iommu.AllowRange(_device, _frame, (int)_count) ? StatusDone : StatusRefused,
            CommandRevoke => _iommu.RevokeRange(_device, _frame, (int)_count) ? StatusDone : StatusRefused,
            _ => _iommu.IsRangeAllowed(_device, _frame, (int)_count) ? StatusDone : StatusNotAllowed,
        };
    }

    /// <summary>DENIED's value for a count of <paramref name="denied"/> refused accesses.</summary>
    internal static uint Saturate(long denied) => denied <= 0 ? 0 : denied >= uint.MaxValue ? uint.MaxValue : (uint)denied;
}
