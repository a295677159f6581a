// The card's memory and the remote DMA that moves it through the data port (base+0x10).
// The chip's 16-bit address space holds the PROM at 0x0000–0x001F and the 32 KiB buffer at
// 0x4000–0xBFFF; anything else reads 0xFF and swallows writes, as an unpopulated bus does.
// A remote read or write (CR.RD = 1 or 2) moves one byte per access, or one word in word mode
// (DCR.WTS; the address's low bit is then ignored); a wider host access is split the way the
// ISA bus splits it. Each transfer advances RSAR (wrapping past 0xFFFF, and from PSTOP back to
// PSTART inside a valid ring) and counts RBCR down; when RBCR reaches 0 the chip sets ISR.RDC
// and the data port stops transferring (reads give all ones). "Send packet" (CR.RD = 3) reads
// the frame at BNRY using the length from its ring header.
namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000
{
    private byte ReadMemoryUnsynchronized(int address)
    {
        if (address < Ne2000Registers.PromSize) return _prom[address];
        int ram = address - Ne2000Registers.RamStart;
        return ram >= 0 && ram < Ne2000Registers.RamSize ? _ram[ram] : (byte)0xFF;
    }

    private void WriteMemoryUnsynchronized(int address, byte value)
    {
        int ram = address - Ne2000Registers.RamStart;
        if (ram >= 0 && ram < Ne2000Registers.RamSize) _ram[ram] = value;
    }

    private void StartRemoteDmaUnsynchronized(int command)
    {
        if (command != Ne2000Registers.CrSendPacket) return;
        int header = _bnry << 8;
        _rsar = (ushort)header;
        _rbcr = (ushort)(ReadMemoryUnsynchronized(header + 2) | (ReadMemoryUnsynchronized(header + 3) << 8));
    }

    private bool WordModeUnsynchronized => (_dcr & Ne2000Registers.DcrWordTransfer) != 0;

    private int RemoteCommandUnsynchronized => _cr & Ne2000Registers.CrRemoteDmaMask;

    private uint ReadDataPortUnsynchronized(int size)
    {
        int command = RemoteCommandUnsynchronized;
        bool reading = command is Ne2000Registers.CrRemoteRead or Ne2000Registers.CrSendPacket;
        int unit = WordModeUnsynchronized ? 2 : 1;
        int transfers = Math.Max(1, size / unit);
        uint result = 0;
        for (int i = 0; i < transfers; i++)
        {
            uint part;
            if (!reading || _rbcr == 0)
            {
                part = unit == 2 ? 0xFFFFu : 0xFFu;
            }
            else if (unit == 2)
            {
                int address = _rsar & ~1;
                part = ReadMemoryUnsynchronized(address) | ((uint)ReadMemoryUnsynchronized((address + 1) & 0xFFFF) << 8);
                AdvanceRemoteDmaUnsynchronized(address, 2);
            }
            else
            {
                part = ReadMemoryUnsynchronized(_rsar);
                AdvanceRemoteDmaUnsynchronized(_rsar, 1);
            }
            result |= part << (8 * unit * i);
        }
        return size switch { 1 => result & 0xFF, 2 => result & 0xFFFF, _ => result };
    }

    private void WriteDataPortUnsynchronized(int size, uint value)
    {
        int unit = WordModeUnsynchronized ? 2 : 1;
        int transfers = Math.Max(1, size / unit);
        for (int i = 0; i < transfers; i++)
        {
            if (RemoteCommandUnsynchronized != Ne2000Registers.CrRemoteWrite || _rbcr == 0) return;
            uint part = value >> (8 * unit * i);
            if (unit == 2)
            {
                int address = _rsar & ~1;
                WriteMemoryUnsynchronized(address, (byte)part);
                WriteMemoryUnsynchronized((address + 1) & 0xFFFF, (byte)(part >> 8));
                AdvanceRemoteDmaUnsynchronized(address, 2);
            }
            else
            {
                WriteMemoryUnsynchronized(_rsar, (byte)part);
                AdvanceRemoteDmaUnsynchronized(_rsar, 1);
            }
        }
    }

    private void AdvanceRemoteDmaUnsynchronized(int from, int count)
    {
        _rsar = (ushort)(from + count);
        if (_pstart < _pstop && _rsar == _pstop << 8) _rsar = (ushort)(_pstart << 8);
        _rbcr = _rbcr <= count ? (ushort)0 : (ushort)(_rbcr - count);
        if (_rbcr == 0) SetIsrUnsynchronized(Ne2000Registers.IsrRdc);
    }
}
