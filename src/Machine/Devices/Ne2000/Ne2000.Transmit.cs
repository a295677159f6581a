// Transmission: CR.TXP sends TBCR bytes from the buffer at TPSR·256, read by the chip's local
// DMA (so a frame running past the buffer picks up 0xFF from the empty bus, and the address
// wraps at 0xFFFF). The chip pads nothing: short frames go out short, padding is the driver's
// job. A command to transmit while stopped, or a frame longer than Ethernet allows (1514
// bytes, 1518 when TCR.CRC inhibit says the driver supplies the FCS) ends with TSR.ABT and
// ISR.TXE; TBCR 0 completes with nothing on the wire. In a loopback mode (TCR bits 1–2) the
// frame does not reach the wire: it comes back through the receive path.
namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000
{
    /// <summary>Runs CR.TXP; returns the frame for the wire, or null if nothing goes out.</summary>
    private byte[]? TransmitUnsynchronized()
    {
        int max = (_tcr & Ne2000Registers.TcrCrcInhibit) != 0
            ? Ne2000Registers.MaxFrameWithoutFcs + Ne2000Registers.FcsLength
            : Ne2000Registers.MaxFrameWithoutFcs;
        if (StoppedUnsynchronized || _tbcr > max)
        {
            _tsr = Ne2000Registers.TsrAbt;
            SetIsrUnsynchronized(Ne2000Registers.IsrTxe);
            return null;
        }

        int start = _tpsr << 8;
        var frame = new byte[_tbcr];
        for (int i = 0; i < frame.Length; i++) frame[i] = ReadMemoryUnsynchronized((start + i) & 0xFFFF);
        if (frame.Length > 0)
        {
            _clda = (ushort)(start + frame.Length);
            _fifo = frame[^1];
        }
        _tsr = Ne2000Registers.TsrPtx;
        SetIsrUnsynchronized(Ne2000Registers.IsrPtx);

        if (frame.Length == 0) return null;
        if ((_tcr & Ne2000Registers.TcrLoopbackMask) != 0)
        {
            ReceiveUnsynchronized(frame);
            return null;
        }
        return frame;
    }
}
