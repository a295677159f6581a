// Receive path of the RTL8139 model. A frame from the backend is accepted only while CR.RE
// is set and the RCR filters take it (AAP all unicast, APM own address, AM multicast through
// the MAR hash, AB broadcast); frames shorter than 60 bytes are padded as the wire would.
// The device then writes, by bus-master DMA at RBSTART+CBR, a 4-byte header (status: ROK and
// BAR/PAM/MAR; length including the 4-byte CRC), the frame and its CRC, and moves CBR to the
// next 4-byte boundary. Rules: a packet that would reach CAPR+16 is dropped with ISR.RXOVW and
// MPC counted; with RCR.WRAP set the packet may run past the ring's end (the driver allocates
// the slack), otherwise it wraps to RBSTART. A DMA refused by the IOMMU drops the packet,
// leaves CBR alone and sets ISR.RER and ISR.SERR (and the PCI status's received-target-abort
// bit); with bus mastering disabled no DMA is tried and the packet is dropped with ISR.RER.
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Devices.Rtl8139;

public sealed partial class Rtl8139Device
{
    private const int MinFrame = 60, MaxFrame = 1518; // without the CRC; 1518 leaves room for a VLAN tag

    private void Receive(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14 || frame.Length > MaxFrame) return;
        lock (_lock)
        {
            if ((_cr & CrRe) == 0) return;
            if (!AcceptUnsynchronized(frame[..6], out ushort status)) return;

            int dataLength = Math.Max(frame.Length, MinFrame);
            int length = dataLength + 4; // with the CRC
            int need = (4 + length + 3) & ~3;
            int ring = RingSize;
            int avail = ((_rxRead - _rxWrite) % ring + ring) % ring; // 0: the ring is empty
            if (avail != 0 && need >= avail)
            {
                _isr |= IntRxOvw;
                _mpc = (_mpc + 1) & 0xFFFFFF;
                UpdateIrqUnsynchronized();
                return;
            }
            if (!Config.BusMasterEnabled)
            {
                _isr |= IntRer;
                UpdateIrqUnsynchronized();
                return;
            }

            var packet = new byte[4 + length];
            status |= RxStatRok;
            packet[0] = (byte)status;
            packet[1] = (byte)(status >> 8);
            packet[2] = (byte)length;
            packet[3] = (byte)(length >> 8);
            frame.CopyTo(packet.AsSpan(4));
            uint crc = EthernetCrc.Fcs(packet.AsSpan(4, dataLength));
            for (int i = 0; i < 4; i++) packet[4 + dataLength + i] = (byte)(crc >> (8 * i));

            if (!WriteRingUnsynchronized(packet, ring))
            {
                _isr |= IntRer | IntSerr;
                Config.SetStatus(Pci.PciConfigSpace.StatusReceivedTargetAbort);
                UpdateIrqUnsynchronized();
                return;
            }
            _rxWrite = (_rxWrite + need) % ring;
            _isr |= IntRok;
            UpdateIrqUnsynchronized();
        }
    }

    private bool AcceptUnsynchronized(ReadOnlySpan<byte> dst, out ushort status)
    {
        status = 0;
        bool all = (_rcr & RcrAap) != 0;
        if (dst.IndexOfAnyExcept((byte)0xFF) < 0)
        {
            status = RxStatBar;
            return all || (_rcr & RcrAb) != 0;
        }
        if ((dst[0] & 1) != 0)
        {
            status = RxStatMar;
            int bit = EthernetCrc.MulticastIndex(dst);
            return all || ((_rcr & RcrAm) != 0 && (_mar[bit >> 3] & (1 << (bit & 7))) != 0);
        }
        if (dst.SequenceEqual(_mac))
        {
            status = RxStatPam;
            return all || (_rcr & RcrApm) != 0;
        }
        return all;
    }

    private bool WriteRingUnsynchronized(byte[] packet, int ring)
    {
        ulong at = (ulong)_rbStart + (ulong)_rxWrite;
        if ((_rcr & RcrWrap) != 0 || _rxWrite + packet.Length <= ring)
            return _dma.Write(at, packet);
        int first = ring - _rxWrite;
        return _dma.Write(at, packet.AsSpan(0, first)) && _dma.Write(_rbStart, packet.AsSpan(first));
    }
}
