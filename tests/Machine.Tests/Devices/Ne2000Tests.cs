// Tests of the NE2000 model through its ports only, the way a driver sees it: the classic
// probe (reset, PROM through remote DMA), register behaviour page by page, transmission to an
// in-process peer, reception into the ring (headers, BNRY, wrap-around, overflow), the RCR
// address filter, and misprogramming, which must behave as the chip's logic says and never
// throw.
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Xunit;
using Xunit.Abstractions;

namespace Bulkhead.Machine.Tests.Devices;

public sealed class Ne2000Tests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] OtherMac = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly byte[] BroadcastMac = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    // Register offsets and values as a driver writes them.
    private const int Cr = 0x00, Pstart = 0x01, Pstop = 0x02, Bnry = 0x03, Tpsr = 0x04, Tbcr0 = 0x05, Tbcr1 = 0x06,
        Isr = 0x07, Rsar0 = 0x08, Rsar1 = 0x09, Rbcr0 = 0x0A, Rbcr1 = 0x0B, Rcr = 0x0C, Tcr = 0x0D, Dcr = 0x0E,
        Imr = 0x0F, Data = 0x10, Reset = 0x1F, Curr = 0x07, Mar0 = 0x08;
    private const byte Page0 = 0x00, Page1 = 0x40, Page2 = 0x80, Page3 = 0xC0;
    private const byte Stop = 0x01, Start = 0x02, Txp = 0x04, RemoteRead = 0x08, RemoteWrite = 0x10, SendPacket = 0x18, NoDma = 0x20;
    private const byte IsrPrx = 0x01, IsrPtx = 0x02, IsrTxe = 0x08, IsrOvw = 0x10, IsrRdc = 0x40, IsrRst = 0x80;
    private const byte RcrAr = 0x02, RcrAb = 0x04, RcrAm = 0x08, RcrPro = 0x10, RcrMon = 0x20;
    private const byte RingStart = 0x46, RingStop = 0x80, TxPage = 0x40;

    private readonly FakeIrqLine _irq = new();
    private readonly PeerBackend _nicSide;
    private readonly PeerBackend _wire;
    private readonly List<byte[]> _onWire = [];
    private readonly Ne2000 _nic;

    private readonly ITestOutputHelper _output;
    private byte _ringStart = RingStart, _ringStop = RingStop;

    public Ne2000Tests(ITestOutputHelper output)
    {
        _output = output;
        (_nicSide, _wire) = PeerBackend.Pair();
        _wire.Attach(f =>
        {
            lock (_onWire) _onWire.Add(f.ToArray());
        });
        _nic = new Ne2000(Mac, _irq, _nicSide);
    }

    public void Dispose()
    {
        _nicSide.Dispose();
        _wire.Dispose();
    }

    // ---- port helpers -------------------------------------------------------------------

    private void Out(int offset, byte value) => _nic.Write(offset, 1, value);

    private byte In(int offset) => (byte)_nic.Read(offset, 1);

    private void SetRemote(int address, int count)
    {
        Out(Rsar0, (byte)address);
        Out(Rsar1, (byte)(address >> 8));
        Out(Rbcr0, (byte)count);
        Out(Rbcr1, (byte)(count >> 8));
    }

    /// <summary>Remote DMA read in word mode, 16-bit accesses, as the NE2000 drivers do it.</summary>
    private byte[] ReadRemote(int address, int count)
    {
        Out(Cr, Page0 | RemoteRead | Start);
        SetRemote(address, count);
        Out(Cr, Page0 | RemoteRead | Start);
        var bytes = new byte[count];
        for (int i = 0; i < count; i += 2)
        {
            uint word = _nic.Read(Data, 2);
            bytes[i] = (byte)word;
            if (i + 1 < count) bytes[i + 1] = (byte)(word >> 8);
        }
        Out(Cr, Page0 | NoDma | Start);
        return bytes;
    }

    private void WriteRemote(int address, ReadOnlySpan<byte> data)
    {
        int count = (data.Length + 1) & ~1;
        SetRemote(address, count);
        Out(Cr, Page0 | RemoteWrite | Start);
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = data[i] | (i + 1 < data.Length ? (uint)data[i + 1] << 8 : 0);
            _nic.Write(Data, 2, word);
        }
        Out(Cr, Page0 | NoDma | Start);
    }

    /// <summary>The classic probe: reset, word mode, monitor, loopback, then the PROM.</summary>
    private byte[] Probe()
    {
        In(Reset);
        Out(Cr, Page0 | NoDma | Stop);
        Out(Dcr, 0x49);
        Out(Rbcr0, 0);
        Out(Rbcr1, 0);
        Out(Rcr, RcrMon);
        Out(Tcr, 0x02);
        return ReadRemote(0, 32);
    }

    /// <summary>What a driver does after the probe: ring, address, filter, start.</summary>
    private void Open(byte rcr = RcrAb, byte ringStart = RingStart, byte ringStop = RingStop)
    {
        Probe();
        _ringStart = ringStart;
        _ringStop = ringStop;
        Out(Cr, Page0 | NoDma | Stop);
        Out(Pstart, ringStart);
        Out(Pstop, ringStop);
        Out(Bnry, ringStart);
        Out(Tpsr, TxPage);
        Out(Cr, Page1 | NoDma | Stop);
        for (int i = 0; i < 6; i++) Out(1 + i, Mac[i]);
        Out(Curr, (byte)(ringStart + 1));
        Out(Cr, Page0 | NoDma | Start);
        Out(Isr, 0xFF);
        Out(Imr, 0x7F);
        Out(Rcr, rcr);
        Out(Tcr, 0x00);
    }

    private static byte[] Frame(byte[] destination, int length, byte seed = 1)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        OtherMac.CopyTo(f, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    private byte ReadPage1(int offset)
    {
        Out(Cr, Page1 | NoDma | Start);
        byte v = In(offset);
        Out(Cr, Page0 | NoDma | Start);
        return v;
    }

    private void WritePage1(int offset, byte value)
    {
        Out(Cr, Page1 | NoDma | Start);
        Out(offset, value);
        Out(Cr, Page0 | NoDma | Start);
    }

    /// <summary>Takes the next frame out of the ring the way a driver does, advancing BNRY to next−1.</summary>
    private (byte Status, byte Next, byte[] Data) Take()
    {
        byte curr = ReadPage1(Curr);
        byte page = NextToTake();
        Assert.NotEqual(curr, page);
        byte[] header = ReadRemote(page << 8, 4);
        int length = (header[2] | (header[3] << 8)) - 4; // the count includes the header
        byte[] data = ReadRemote((page << 8) + 4, length);
        byte next = header[1];
        Out(Bnry, (byte)(next == _ringStart ? _ringStop - 1 : next - 1));
        return (header[0], next, data);
    }

    /// <summary>The page after BNRY, where the driver's next frame starts.</summary>
    private byte NextToTake()
    {
        int page = In(Bnry) + 1;
        return (byte)(page >= _ringStop ? _ringStart : page);
    }

    private static uint Fcs(ReadOnlySpan<byte> frame)
    {
        // Reference CRC-32 written independently of the device: table-driven, reflected.
        Span<uint> table = stackalloc uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
            table[(int)n] = c;
        }
        uint crc = ~0u;
        foreach (byte b in frame) crc = table[(int)((crc ^ b) & 0xFF)] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>The MAR bit for a multicast address: top 6 bits of the MSB-first CRC, i.e. the
    /// low 6 bits of the reflected CRC (not complemented) read backwards.</summary>
    private static int HashIndex(ReadOnlySpan<byte> address)
    {
        uint reflected = ~Fcs(address);
        int index = 0;
        for (int i = 0; i < 6; i++) index |= (int)((reflected >> i) & 1) << (5 - i);
        return index;
    }

    // ---- reset and probe ----------------------------------------------------------------

    [Fact]
    public void ResetPort_Read_SetsRstAndStops()
    {
        Open();
        Assert.Equal(0, In(Isr) & IsrRst);
        In(Reset);
        Assert.Equal(IsrRst, In(Isr));
        Assert.Equal(NoDma | Stop, In(Cr));
        _wire.Send(Frame(Mac, 60));
        Assert.Equal(IsrRst, In(Isr)); // stopped: nothing received
    }

    [Fact]
    public void Probe_ReadsPromThroughRemoteDma_MacDoubledAndSignature()
    {
        byte[] prom = Probe();
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(Mac[i], prom[2 * i]);
            Assert.Equal(Mac[i], prom[2 * i + 1]);
        }
        Assert.Equal(new byte[] { 0x57, 0x57, 0x57, 0x57 }, prom[0x1C..0x20]);
        Assert.Equal(IsrRdc, In(Isr) & IsrRdc);
        Assert.Equal(32, In(0x08)); // CRDA0 advanced past the PROM
        Assert.Equal(0, In(0x09));
    }

    [Fact]
    public void Probe_ByteMode_ReadsEachPromByteOnce()
    {
        In(Reset);
        Out(Cr, Page0 | NoDma | Stop);
        Out(Dcr, 0x48);
        SetRemote(0, 12);
        Out(Cr, Page0 | RemoteRead | Stop);
        var bytes = new byte[12];
        for (int i = 0; i < 12; i++) bytes[i] = In(Data);
        Assert.Equal(new byte[] { Mac[0], Mac[0], Mac[1], Mac[1], Mac[2], Mac[2], Mac[3], Mac[3], Mac[4], Mac[4], Mac[5], Mac[5] }, bytes);
    }

    // ---- registers ----------------------------------------------------------------------

    [Fact]
    public void Command_StartAndStop_ClearAndSetRst()
    {
        In(Reset);
        Out(Cr, NoDma | Start);
        Assert.Equal(NoDma | Start, In(Cr));
        Assert.Equal(0, In(Isr) & IsrRst);
        Out(Cr, NoDma | Stop);
        Assert.Equal(NoDma | Stop, In(Cr));
        Assert.Equal(IsrRst, In(Isr) & IsrRst);
        Out(Cr, NoDma | Start | Stop); // STOP wins
        Assert.Equal(NoDma | Stop, In(Cr));
    }

    [Fact]
    public void Command_PageSelect_ReadsBackInCr()
    {
        Out(Cr, Page2 | NoDma | Start);
        Assert.Equal(Page2 | NoDma | Start, In(Cr));
        Out(Cr, Page1 | NoDma | Start);
        Assert.Equal(Page1 | NoDma | Start, In(Cr));
    }

    [Fact]
    public void Page2_ReadsBackPage0WriteRegisters()
    {
        In(Reset);
        Out(Cr, Page0 | NoDma | Stop);
        Out(Pstart, 0x46);
        Out(Pstop, 0x80);
        Out(Tpsr, 0x40);
        Out(Rcr, 0x1C);
        Out(Tcr, 0x02);
        Out(Dcr, 0x49);
        Out(Imr, 0x3F);
        Out(Cr, Page2 | NoDma | Stop);
        Assert.Equal(0x46, In(0x01));
        Assert.Equal(0x80, In(0x02));
        Assert.Equal(0x40, In(0x04));
        Assert.Equal(0x1C, In(0x0C));
        Assert.Equal(0x02, In(0x0D));
        Assert.Equal(0x49, In(0x0E));
        Assert.Equal(0x3F, In(0x0F));
    }

    [Fact]
    public void Page1_ParCurrMar_ReadBack()
    {
        Out(Cr, Page1 | NoDma | Stop);
        for (int i = 0; i < 6; i++) Out(1 + i, OtherMac[i]);
        Out(Curr, 0x55);
        for (int i = 0; i < 8; i++) Out(Mar0 + i, (byte)(0x10 + i));
        for (int i = 0; i < 6; i++) Assert.Equal(OtherMac[i], In(1 + i));
        Assert.Equal(0x55, In(Curr));
        for (int i = 0; i < 8; i++) Assert.Equal(0x10 + i, In(Mar0 + i));
    }

    [Fact]
    public void Page0_Bnry_ReadsBack()
    {
        Out(Bnry, 0x5A);
        Assert.Equal(0x5A, In(Bnry));
    }

    [Fact]
    public void Isr_WriteOne_ClearsOnlyThoseBitsButNotRst()
    {
        Open();
        _wire.Send(Frame(Mac, 60));
        WriteRemote(TxPage << 8, Frame(OtherMac, 60));
        Out(Tbcr0, 60);
        Out(Tbcr1, 0);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Equal(IsrPrx | IsrPtx | IsrRdc, In(Isr));
        Out(Isr, IsrPtx);
        Assert.Equal(IsrPrx | IsrRdc, In(Isr));
        Out(Cr, NoDma | Stop);
        Out(Isr, 0xFF);
        Assert.Equal(IsrRst, In(Isr));
    }

    [Fact]
    public void Imr_InterruptLine_FollowsIsrAndImr()
    {
        Open();
        Out(Imr, 0);
        _wire.Send(Frame(Mac, 60));
        Assert.Empty(_irq.Calls);
        Out(Imr, IsrPrx);
        Assert.Equal([true], _irq.Calls);
        Out(Isr, IsrPrx);
        Assert.Equal([true, false], _irq.Calls);
        In(Reset); // RST alone never interrupts, and reset masks everything
        Assert.Equal([true, false], _irq.Calls);
    }

    [Fact]
    public void RemoteDma_CountsDownAndSetsRdcAtZero()
    {
        Open();
        Out(Isr, 0xFF);
        SetRemote(0x4000, 4);
        Out(Cr, Page0 | RemoteRead | Start);
        _nic.Read(Data, 2);
        Assert.Equal(0, In(Isr) & IsrRdc);
        Assert.Equal(0x02, In(0x08));
        Assert.Equal(0x40, In(0x09));
        _nic.Read(Data, 2);
        Assert.Equal(IsrRdc, In(Isr) & IsrRdc);
        Assert.Equal(0xFFFFu, _nic.Read(Data, 2)); // count exhausted: nothing transferred
        Assert.Equal(0x04, In(0x08));
    }

    [Fact]
    public void RemoteDma_WriteThenRead_RoundTripsInBuffer()
    {
        Open();
        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8];
        WriteRemote(0xBFF8, data);
        Assert.Equal(data, ReadRemote(0xBFF8, 8));
    }

    [Fact]
    public void RemoteDma_OutsideMemory_ReadsFfAndWritesAreLost()
    {
        Open();
        WriteRemote(0x2000, [9, 9]);
        Assert.Equal(new byte[] { 0xFF, 0xFF }, ReadRemote(0x2000, 2));
        Assert.Equal(new byte[] { 0xFF, 0xFF }, ReadRemote(0xC000, 2));
        WriteRemote(0x0000, [9, 9]); // the PROM is read-only
        Assert.Equal(new byte[] { Mac[0], Mac[0] }, ReadRemote(0, 2));
    }

    [Fact]
    public void DataPort_WithoutRemoteDma_ReadsAllOnesAndDropsWrites()
    {
        Open();
        SetRemote(0x4000, 2);
        Out(Cr, Page0 | NoDma | Start);
        Assert.Equal(0xFFFFu, _nic.Read(Data, 2));
        _nic.Write(Data, 2, 0x1234);
        Assert.Equal(0x00, In(0x08)); // CRDA did not move
        Out(Cr, Page0 | RemoteRead | Start); // a write during a remote read is dropped too
        _nic.Write(Data, 2, 0x1234);
        Assert.Equal(0x00, In(0x08));
    }

    [Fact]
    public void TallyCounters_CountMissedFramesAndClearOnRead()
    {
        Open(rcr: RcrAb | RcrMon);
        _wire.Send(Frame(Mac, 60));
        _wire.Send(Frame(Mac, 60));
        Assert.Equal(0, In(Isr) & IsrPrx); // monitor mode stores nothing
        Assert.Equal(0x50, In(0x0C)); // RSR: missed packet, receiver disabled
        Assert.Equal(2, In(0x0F));
        Assert.Equal(0, In(0x0F));
        Assert.Equal(0, In(0x0D));
        Assert.Equal(0, In(0x0E));
    }

    // ---- transmit -----------------------------------------------------------------------

    [Fact]
    public void Transmit_FrameFromTpsr_ReachesPeerByteIdenticalAndRaisesPtx()
    {
        Open();
        byte[] frame = Frame(OtherMac, 99);
        WriteRemote(TxPage << 8, frame);
        Out(Isr, 0xFF);
        _irq.Calls.Clear();
        Out(Tbcr0, 99);
        Out(Tbcr1, 0);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Single(_onWire);
        Assert.Equal(frame, _onWire[0]);
        Assert.Equal(IsrPtx, In(Isr));
        Assert.Equal(0x01, In(0x04)); // TSR.PTX
        Assert.Equal(0, In(Cr) & Txp);
        Assert.Equal([true], _irq.Calls);
        Out(Isr, IsrPtx);
        Assert.Equal([true, false], _irq.Calls);
    }

    [Fact]
    public void Transmit_FullSizeFrame_GoesOut()
    {
        Open();
        byte[] frame = Frame(BroadcastMac, 1514);
        WriteRemote(TxPage << 8, frame);
        Out(Tbcr0, 1514 & 0xFF);
        Out(Tbcr1, 1514 >> 8);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Equal(frame, Assert.Single(_onWire));
    }

    [Fact]
    public void Transmit_WhileStopped_SetsTxeAndSendsNothing()
    {
        Open();
        WriteRemote(TxPage << 8, Frame(OtherMac, 60));
        Out(Tbcr0, 60);
        Out(Cr, Page0 | NoDma | Stop);
        Out(Isr, 0xFF);
        Out(Cr, Page0 | NoDma | Stop | Txp);
        Assert.Empty(_onWire);
        Assert.Equal(IsrTxe, In(Isr) & (IsrTxe | IsrPtx));
        Assert.Equal(0x08, In(0x04)); // TSR.ABT
    }

    [Fact]
    public void Transmit_Oversize_SetsTxeAndSendsNothing()
    {
        Open();
        Out(Tbcr0, 1515 & 0xFF);
        Out(Tbcr1, 1515 >> 8);
        Out(Isr, 0xFF);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Empty(_onWire);
        Assert.Equal(IsrTxe, In(Isr));
        Assert.Equal(0x08, In(0x04));
    }

    [Fact]
    public void Transmit_TbcrZero_CompletesWithNothingOnTheWire()
    {
        Open();
        Out(Tbcr0, 0);
        Out(Tbcr1, 0);
        Out(Isr, 0xFF);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Empty(_onWire);
        Assert.Equal(IsrPtx, In(Isr));
    }

    [Fact]
    public void Transmit_FromPageBeyondMemory_SendsFfBytes()
    {
        Open();
        Out(Tpsr, 0xFF); // the last page; the frame wraps to the PROM at 0x0000
        Out(Tbcr0, 0x110 & 0xFF);
        Out(Tbcr1, 0x110 >> 8);
        Out(Cr, Page0 | NoDma | Start | Txp);
        byte[] sent = Assert.Single(_onWire);
        Assert.All(sent[..256], b => Assert.Equal(0xFF, b));
        Assert.Equal(Mac[0], sent[256]);
    }

    [Fact]
    public void Transmit_InLoopback_ComesBackIntoTheRingNotTheWire()
    {
        Open();
        Out(Tcr, 0x02);
        byte[] frame = Frame(Mac, 64);
        WriteRemote(TxPage << 8, frame);
        Out(Tbcr0, 64);
        Out(Cr, Page0 | NoDma | Start | Txp);
        Assert.Empty(_onWire);
        Assert.Equal(IsrPtx | IsrPrx, In(Isr) & (IsrPtx | IsrPrx));
        Assert.Equal(frame, Take().Data[..64]);
        _wire.Send(Frame(Mac, 60)); // the wire is disconnected in loopback
        Assert.Equal(RingStart + 2, ReadPage1(Curr));
    }

    // ---- receive ------------------------------------------------------------------------

    [Fact]
    public void Receive_OwnMac_StoresHeaderDataAndFcs()
    {
        Open();
        byte[] frame = Frame(Mac, 100);
        _wire.Send(frame);
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);
        Assert.Equal(RingStart + 2, ReadPage1(Curr));
        Assert.Equal(0x01, In(0x0C)); // RSR.PRX
        byte[] header = ReadRemote((RingStart + 1) << 8, 4);
        Assert.Equal(new byte[] { 0x01, RingStart + 2, 108, 0 }, header); // count: 4 header + 100 data + 4 FCS
        var (status, next, data) = Take();
        Assert.Equal(0x01, status);
        Assert.Equal(RingStart + 2, next);
        Assert.Equal(frame, data[..100]);
        Assert.Equal(Fcs(frame), BitConverter.ToUInt32(data, 100));
        Assert.Equal(RingStart + 1, In(Bnry));
    }

    [Fact]
    public void Receive_MultiPageFrame_NextPointerSkipsPages()
    {
        Open();
        byte[] frame = Frame(Mac, 600); // 4 + 604 bytes: three pages
        _wire.Send(frame);
        Assert.Equal(RingStart + 4, ReadPage1(Curr));
        var (_, next, data) = Take();
        Assert.Equal(RingStart + 4, next);
        Assert.Equal(frame, data[..600]);
    }

    [Fact]
    public void Receive_SeveralFrames_TakenInOrderWithBnry()
    {
        Open();
        var frames = Enumerable.Range(0, 5).Select(i => Frame(Mac, 60 + 100 * i, (byte)i)).ToArray();
        foreach (var f in frames) _wire.Send(f);
        foreach (var f in frames) Assert.Equal(f, Take().Data[..f.Length]);
        Assert.Equal(ReadPage1(Curr), (byte)(In(Bnry) + 1));
    }

    [Fact]
    public void Receive_AcrossPstop_WrapsToPstart()
    {
        const byte start = 0x46, stop = 0x4A; // four pages
        Open(ringStart: start, ringStop: stop);
        WritePage1(Curr, 0x49); // the last page
        Out(Bnry, 0x48);
        byte[] frame = Frame(Mac, 400); // two pages: 0x49 then 0x46
        _wire.Send(frame);
        Assert.Equal(0x47, ReadPage1(Curr));
        byte[] header = ReadRemote(0x4900, 4);
        Assert.Equal(0x47, header[1]);
        // The remote DMA wraps at PSTOP too, so one read gets the whole frame.
        byte[] data = ReadRemote(0x4904, 404);
        Assert.Equal(frame, data[..400]);
        Assert.Equal(frame[252..], ReadRemote(0x4600, 148));
    }

    [Fact]
    public void Receive_RingFull_SetsOvwAndDropsFrame()
    {
        const byte start = 0x46, stop = 0x4A;
        Open(ringStart: start, ringStop: stop);
        Out(Bnry, 0x46); // the driver has not taken anything; CURR is 0x47
        _wire.Send(Frame(Mac, 400)); // 0x47, 0x48
        Assert.Equal(0x49, ReadPage1(Curr));
        Out(Isr, 0xFF);
        _wire.Send(Frame(Mac, 400)); // would need 0x49 then 0x46 == BNRY
        Assert.Equal(IsrOvw, In(Isr));
        Assert.Equal(0x49, ReadPage1(Curr));
        Assert.Equal(0x10, In(0x0C)); // RSR.MPA
        Assert.Equal(1, In(0x0F)); // CNTR2
        Out(Isr, 0xFF);
        _wire.Send(Frame(Mac, 60)); // one page at 0x49 would make CURR meet BNRY: still full
        Assert.Equal(IsrOvw, In(Isr));
        Take(); // BNRY → 0x48
        Out(Isr, 0xFF);
        _wire.Send(Frame(Mac, 60)); // now it fits
        Assert.Equal(0x46, ReadPage1(Curr));
        Assert.Equal(IsrPrx, In(Isr));
    }

    [Fact]
    public void Receive_FrameLargerThanRing_Overflows()
    {
        Open(ringStart: 0x46, ringStop: 0x48);
        Out(Bnry, 0x46);
        WritePage1(Curr, 0x47);
        _wire.Send(Frame(Mac, 1514));
        Assert.Equal(IsrOvw, In(Isr) & (IsrOvw | IsrPrx));
    }

    [Fact]
    public void Receive_Interrupt_RaisedWithImrAndLoweredAfterClear()
    {
        Open();
        _wire.Send(Frame(Mac, 60));
        Assert.Equal([true], _irq.Calls);
        Out(Isr, IsrPrx);
        Assert.Equal([true, false], _irq.Calls);
    }

    // ---- filtering ----------------------------------------------------------------------

    [Fact]
    public void Filter_OtherUnicast_Dropped()
    {
        Open(rcr: RcrAb | RcrAm);
        _wire.Send(Frame(OtherMac, 60));
        Assert.Equal(0, In(Isr) & IsrPrx);
        Assert.Equal(RingStart + 1, ReadPage1(Curr));
    }

    [Fact]
    public void Filter_Promiscuous_AcceptsOtherUnicast()
    {
        Open(rcr: RcrPro);
        byte[] frame = Frame(OtherMac, 60);
        _wire.Send(frame);
        var (status, _, data) = Take();
        Assert.Equal(0x01, status);
        Assert.Equal(frame, data[..60]);
    }

    [Fact]
    public void Filter_Broadcast_OnlyWithAb()
    {
        Open(rcr: 0);
        _wire.Send(Frame(BroadcastMac, 60));
        Assert.Equal(0, In(Isr) & IsrPrx);
        Out(Rcr, RcrPro); // promiscuous physical does not take broadcasts
        _wire.Send(Frame(BroadcastMac, 60));
        Assert.Equal(0, In(Isr) & IsrPrx);
        Out(Rcr, RcrAb);
        _wire.Send(Frame(BroadcastMac, 60));
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);
        Assert.Equal(0x21, Take().Status); // PRX and PHY (multicast/broadcast)
    }

    [Fact]
    public void Filter_Multicast_NeedsAmAndItsHashBit()
    {
        byte[] group = [0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB];
        int index = HashIndex(group);
        _output.WriteLine($"hash index of 01:00:5e:00:00:fb = {index}");
        Open(rcr: RcrAm);
        _wire.Send(Frame(group, 60));
        Assert.Equal(0, In(Isr) & IsrPrx); // MAR is all zero
        for (int i = 0; i < 8; i++) WritePage1(Mar0 + i, (byte)(i == index >> 3 ? ~(1 << (index & 7)) : 0xFF));
        _wire.Send(Frame(group, 60));
        Assert.Equal(0, In(Isr) & IsrPrx); // every bit but its own
        WritePage1(Mar0 + (index >> 3), (byte)(1 << (index & 7)));
        _wire.Send(Frame(group, 60));
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);
        Assert.Equal(0x21, Take().Status);
        Out(Rcr, 0); // the hash bit alone is not enough
        Out(Isr, 0xFF);
        _wire.Send(Frame(group, 60));
        Assert.Equal(0, In(Isr) & IsrPrx);
    }

    [Fact]
    public void Filter_AllHostsHash_MatchesLinuxDriverBit()
    {
        // 224.0.0.1 → 01:00:5e:00:00:01; the Linux 8390 driver's ether_crc() >> 26 puts it at
        // bit 31 (MAR3 bit 7), and 01:00:5e:00:00:fb (mDNS) at bit 15.
        byte[] group = [0x01, 0x00, 0x5E, 0x00, 0x00, 0x01];
        int index = HashIndex(group);
        Assert.Equal(31, index);
        Assert.Equal(15, HashIndex([0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB]));
        Open(rcr: RcrAm);
        WritePage1(Mar0 + (index >> 3), (byte)(1 << (index & 7)));
        _wire.Send(Frame(group, 60));
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);
    }

    [Fact]
    public void Filter_Runt_DroppedUnlessAr()
    {
        Open(rcr: RcrAb);
        _wire.Send(Frame(Mac, 59)); // 63 bytes with FCS
        Assert.Equal(0, In(Isr) & IsrPrx);
        Out(Rcr, RcrAb | RcrAr);
        _wire.Send(Frame(Mac, 20));
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);
        var (_, _, data) = Take();
        Assert.Equal(24, data.Length);
    }

    // ---- misprogramming -----------------------------------------------------------------

    [Fact]
    public void Misprogrammed_PstartNotBelowPstop_DropsWithOverflow()
    {
        Open(ringStart: 0x60, ringStop: 0x60);
        _wire.Send(Frame(Mac, 60));
        Assert.Equal(IsrOvw, In(Isr) & (IsrOvw | IsrPrx));
        Out(Pstart, 0x70);
        Out(Pstop, 0x50);
        Out(Isr, 0xFF);
        _wire.Send(Frame(Mac, 60));
        Assert.Equal(IsrOvw, In(Isr) & (IsrOvw | IsrPrx));
    }

    [Fact]
    public void Misprogrammed_CurrOutsideRing_WalksPagesLikeTheChip()
    {
        Open();
        WritePage1(Curr, 0x30); // below the ring and below RAM: the header is lost
        _wire.Send(Frame(Mac, 300)); // two pages: 0x30, 0x31
        Assert.Equal(0x32, ReadPage1(Curr));
        Assert.Equal(IsrPrx, In(Isr) & IsrPrx);

        Out(Bnry, 0x60);
        WritePage1(Curr, 0x7F); // the last ring page: the frame continues at PSTART
        _wire.Send(Frame(Mac, 300));
        Assert.Equal(RingStart + 1, ReadPage1(Curr));

        WritePage1(Curr, 0xFF); // the top page: the counter wraps to 0x00
        _wire.Send(Frame(Mac, 300));
        Assert.Equal(0x01, ReadPage1(Curr));
    }

    [Fact]
    public void Misprogrammed_RemoteDmaPast0xFFFF_WrapsToZero()
    {
        Open();
        Out(Isr, 0xFF);
        byte[] bytes = ReadRemote(0xFFFE, 4);
        Assert.Equal(new byte[] { 0xFF, 0xFF, Mac[0], Mac[0] }, bytes);
        Assert.Equal(0x02, In(0x08));
        Assert.Equal(0x00, In(0x09));
        Assert.Equal(IsrRdc, In(Isr) & IsrRdc);
    }

    [Fact]
    public void Misprogrammed_OddCountInWordMode_EndsAtZero()
    {
        Open();
        Out(Isr, 0xFF);
        SetRemote(0x4000, 3);
        Out(Cr, Page0 | RemoteRead | Start);
        _nic.Read(Data, 2);
        _nic.Read(Data, 2);
        Assert.Equal(IsrRdc, In(Isr) & IsrRdc);
        Assert.Equal(0xFFFFu, _nic.Read(Data, 2));
    }

    [Fact]
    public void SendPacket_ReadsFrameAtBnryWithItsLength()
    {
        Open();
        byte[] frame = Frame(Mac, 70);
        _wire.Send(frame);
        Out(Bnry, RingStart + 1);
        Out(Cr, Page0 | SendPacket | Start);
        Out(Isr, 0xFF);
        var bytes = new List<byte>();
        for (int i = 0; i < 39; i++)
        {
            uint word = _nic.Read(Data, 2);
            bytes.Add((byte)word);
            bytes.Add((byte)(word >> 8));
        }
        Assert.Equal(IsrRdc, In(Isr) & IsrRdc);
        Assert.Equal(0xFFFFu, _nic.Read(Data, 2));
        Assert.Equal(78, bytes.Count); // RBCR came from the header's count: header, frame, FCS
        Assert.Equal(78, bytes[2] | bytes[3] << 8);
        Assert.Equal(frame, bytes.Skip(4).Take(70));
    }

    [Fact]
    public void Misprogrammed_Page3AndUnusedPorts_NeverThrow()
    {
        Open();
        Out(Cr, Page3 | NoDma | Start);
        for (int r = 1; r < 16; r++)
        {
            Assert.Equal(0xFF, In(r));
            Out(r, 0x55);
        }
        Out(Cr, Page0 | NoDma | Start);
        Assert.Equal(RingStart, In(Bnry)); // page-3 writes went nowhere
        for (int port = 0x11; port < 0x1F; port++)
        {
            Assert.Equal(0xFFu, _nic.Read(port, 1));
            _nic.Write(port, 1, 0);
        }
        Assert.Equal(0xFFu, _nic.Read(-1, 1));
        Assert.Equal(0xFFFF_FFFFu, _nic.Read(0x40, 4));
    }

    [Fact]
    public void Misprogrammed_RandomPortTraffic_NeverThrows()
    {
        int seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 200_000; i++)
        {
            int offset = random.Next(0x20);
            int size = sizes[random.Next(3)];
            if (random.Next(2) == 0) _nic.Write(offset, size, (uint)random.Next());
            else _nic.Read(offset, size);
            if (i % 1000 == 0) _wire.Send(Frame(random.Next(2) == 0 ? Mac : BroadcastMac, 14 + random.Next(1600)));
        }
    }

    [Fact]
    public void WideAccessToRegisterPort_SplitIntoBytesLikeTheIsaBus()
    {
        Open();
        _nic.Write(Rsar0, 2, 0x4321); // RSAR0 then RSAR1
        Assert.Equal(0x4321u, _nic.Read(0x08, 2)); // CRDA0 then CRDA1
        Out(Cr, Page1 | NoDma | Start);
        Assert.Equal(BitConverter.ToUInt32(Mac, 0), _nic.Read(1, 4));
    }

    // ---- threads ------------------------------------------------------------------------

    private static byte[] Numbered(int sequence)
    {
        byte[] f = Frame(Mac, 60 + (sequence % 7) * 150, (byte)sequence);
        BitConverter.GetBytes(sequence).CopyTo(f, 14);
        return f;
    }

    [Fact]
    public void Receive_FromBackendThreadWhileDriverDrains_FramesTakenWholeAndInOrder()
    {
        Open();
        const int count = 3000;
        var sender = new Thread(() =>
        {
            for (int i = 0; i < count; i++) _wire.Send(Numbered(i));
        });
        sender.Start();
        int taken = 0, missed = 0, last = -1;
        while (sender.IsAlive || ReadPage1(Curr) != NextToTake())
        {
            missed += In(0x0F);
            if (ReadPage1(Curr) == NextToTake()) continue;
            var (status, _, data) = Take();
            Assert.Equal(0x01, status);
            int seq = BitConverter.ToInt32(data, 14);
            Assert.True(seq > last, $"frame {seq} after {last}");
            Assert.Equal(Numbered(seq), data[..^4]);
            last = seq;
            taken++;
        }
        missed += In(0x0F);
        _output.WriteLine($"taken {taken}, missed {missed}");
        // CNTR2 saturates at 192 between reads, so misses can only bound the count.
        Assert.InRange(taken, 1, count);
        Assert.InRange(taken + missed, taken, count);
    }

    [Fact]
    public void TwoCardsBackToBack_TransmittingAtOnce_DoNotDeadlock()
    {
        var (a, b) = PeerBackend.Pair();
        var irqA = new FakeIrqLine();
        var irqB = new FakeIrqLine();
        var cardA = new Ne2000(Mac, irqA, a);
        var cardB = new Ne2000(OtherMac, irqB, b);
        void Run(Ne2000 card, byte[] destination)
        {
            card.Read(Reset, 1);
            card.Write(Cr, 1, NoDma | Stop);
            card.Write(Dcr, 1, 0x49);
            card.Write(Pstart, 1, RingStart);
            card.Write(Pstop, 1, RingStop);
            card.Write(Bnry, 1, RingStart);
            card.Write(Tpsr, 1, TxPage);
            card.Write(Rcr, 1, RcrPro);
            card.Write(Cr, 1, Page1 | NoDma | Stop);
            card.Write(Curr, 1, RingStart + 1);
            card.Write(Cr, 1, NoDma | Start);
            card.Write(Tbcr0, 1, 60);
            card.Write(Tbcr1, 1, 0);
            byte[] frame = Frame(destination, 60);
            card.Write(Rsar0, 1, 0);
            card.Write(Rsar1, 1, TxPage);
            card.Write(Rbcr0, 1, 60);
            card.Write(Rbcr1, 1, 0);
            card.Write(Cr, 1, RemoteWrite | Start);
            for (int i = 0; i < 60; i += 2) card.Write(Data, 2, (uint)(frame[i] | (frame[i + 1] << 8)));
            for (int i = 0; i < 5000; i++)
            {
                card.Write(Cr, 1, NoDma | Start | Txp);
                card.Write(Bnry, 1, (byte)card.Read(Bnry, 1)); // keep the ring busy; overflow is fine
            }
        }
        var ta = Task.Run(() => Run(cardA, OtherMac));
        var tb = Task.Run(() => Run(cardB, Mac));
        Assert.True(Task.WaitAll([ta, tb], TimeSpan.FromSeconds(30)), "the two cards deadlocked");
        a.Dispose();
        b.Dispose();
    }

    private sealed class FakeIrqLine : IIrqLine
    {
        public List<bool> Calls { get; } = [];

        public int Number => 3;

        public void Set(bool asserted) => Calls.Add(asserted);
    }
}
