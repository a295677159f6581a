// The RTL8139 model driven the way a real driver drives it: register behaviour (reset,
// MAC, ISR/IMR and the IRQ line, CAPR's offset, 9346CR), the Linux/MINIX init sequence,
// receive into a ring the IOMMU allows page by page (byte-exact header, data and CRC; wrap;
// overflow), receive and transmit with DMA the IOMMU refuses, the four transmit descriptors
// round robin with byte-exact frames on the peer backend, and no DMA without bus mastering.
using Bulkhead.Machine.Devices;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Tests.Devices;

public sealed class Rtl8139Tests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private const uint Ring = 0x10000;      // frames 16–17 (8 KiB), 18 for WRAP slack
    private const uint TxBase = 0x14000;    // frames 20–23, one buffer per descriptor
    private const uint Forbidden = 0x1E000; // frame 30: mapped, never allowed
    private const ushort AllInts = IntRok | IntRer | IntTok | IntTer | IntRxOvw | IntSerr;

    private sealed class IrqProbe : IIrqLine
    {
        public int Number => 11;
        public bool Level { get; private set; }
        public int Changes { get; private set; }

        public void Set(bool asserted)
        {
            Level = asserted;
            Changes++;
        }
    }

    /// <summary>A machine with 64 mapped frames, an IOMMU, one RTL8139 at 00:03.0 and the far end of its wire.</summary>
    private sealed class Rig
    {
        public const ushort Rid = 0x0018;
        public readonly PhysicalMemory Memory = new(64);
        public readonly byte[][] Pages = new byte[64][];
        public readonly Iommu Iommu;
        public readonly IrqProbe Irq = new();
        public readonly Rtl8139Device Nic;
        public readonly PeerBackend Wire;
        public readonly List<byte[]> Sent = [];

        public Rig()
        {
            for (int i = 0; i < Pages.Length; i++)
            {
                Pages[i] = new byte[PhysicalMemory.PageSize];
                Assert.True(Memory.Map((ulong)i, Pages[i]));
            }
            Iommu = new Iommu(Memory, 8, 64);
            var (a, b) = PeerBackend.Pair();
            Wire = b;
            b.Attach(f =>
            {
                lock (Sent) Sent.Add(f.ToArray());
            });
            Nic = new Rtl8139Device(Mac, Irq, a, Iommu.Port(Rid));
        }

        public uint R8(int off) => Nic.Read(off, 1);
        public uint R16(int off) => Nic.Read(off, 2);
        public uint R32(int off) => Nic.Read(off, 4);
        public void W8(int off, uint v) => Nic.Write(off, 1, v);
        public void W16(int off, uint v) => Nic.Write(off, 2, v);
        public void W32(int off, uint v) => Nic.Write(off, 4, v);

        public void Allow(uint address, int pages)
        {
            for (int i = 0; i < pages; i++) Assert.True(Iommu.Allow(Rid, (address >> 12) + (ulong)i));
        }

        public byte[] Phys(uint address, int length)
        {
            var b = new byte[length];
            Assert.True(Memory.Read(address, b));
            return b;
        }

        public bool AllZero() => Pages.All(p => p.All(b => b == 0));

        /// <summary>What 8139too and MINIX's rtl8139 do: enable the function, reset, read the
        /// MAC, program the ring, interrupts, receive and transmit configuration, enable.</summary>
        public byte[] InitLikeDriver(uint rcr, bool busMaster = true)
        {
            Nic.Config.Write(PciConfigSpace.CommandOffset, 2,
                PciConfigSpace.CommandIoSpace | (busMaster ? PciConfigSpace.CommandBusMaster : 0u));
            W8(Cr, CrRst);
            for (int spins = 0; (R8(Cr) & CrRst) != 0; spins++) Assert.True(spins < 1000);
            uint lo = R32(Idr0), hi = R16(Idr0 + 4);
            byte[] mac = [(byte)lo, (byte)(lo >> 8), (byte)(lo >> 16), (byte)(lo >> 24), (byte)hi, (byte)(hi >> 8)];
            W8(Cr9346, Eem9346ConfigWrite);
            W32(Idr0, lo);
            W32(Idr0 + 4, hi);
            W8(Cr9346, 0);
            W32(RbStart, Ring);
            W16(Imr, AllInts);
            W32(Rcr, rcr);
            W32(Tcr, 0x03000600);
            W8(Cr, CrRe | CrTe);
            return mac;
        }

        /// <summary>Transmits <paramref name="frame"/> on descriptor <paramref name="d"/> from its buffer.</summary>
        public void Transmit(int d, byte[] frame, uint? address = null)
        {
            uint at = address ?? TxBase + (uint)d * 0x1000;
            Assert.True(Memory.Write(at, frame));
            W32(Tsad0 + 4 * d, at);
            W32(Tsd0 + 4 * d, (uint)frame.Length | (8u << 16)); // OWN clear, early threshold 256
        }
    }

    private static byte[] Frame(ReadOnlySpan<byte> dst, int length, int seed)
    {
        var f = new byte[length];
        dst.CopyTo(f);
        byte[] src = [0x02, 0, 0, 0, 0, 0x99];
        src.CopyTo(f, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed * 31 + i);
        return f;
    }

    private static byte[] Crc(ReadOnlySpan<byte> frame)
    {
        uint c = EthernetCrc.Fcs(frame);
        return [(byte)c, (byte)(c >> 8), (byte)(c >> 16), (byte)(c >> 24)];
    }

    private static readonly byte[] Broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    // ---- PCI identity and register behaviour ----

    [Fact]
    public void Pci_IdentityAndBar_AreRtl8139()
    {
        var rig = new Rig();
        var c = rig.Nic.Config;
        Assert.Equal(0x813910ECu, c.Read(0, 4));
        Assert.Equal(0x020000u, c.ClassCode);
        Assert.Equal(1u, c.Read(PciConfigSpace.InterruptPinOffset, 1));
        c.Write(PciConfigSpace.Bar0Offset, 4, 0xFFFFFFFF);
        Assert.Equal(0xFFFFFF01u, c.Read(PciConfigSpace.Bar0Offset, 4)); // 256-byte I/O window
    }

    [Fact]
    public void Crc_KnownVector()
    {
        Assert.Equal(0xCBF43926u, EthernetCrc.Fcs("123456789"u8));
    }

    [Fact]
    public void Reset_RestoresDefaults_AndClearsItself()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.W8(Cr9346, Eem9346ConfigWrite);
        rig.W8(Idr0, 0xEE);
        rig.W8(Mar0 + 3, 0x55);
        rig.W16(Capr, 0x100);
        rig.W8(Cr, CrRst | CrRe | CrTe);

        Assert.Equal((uint)CrBufe, rig.R8(Cr)); // RST already clear; RE/TE off; ring empty
        Assert.Equal(0x52u, rig.R8(Idr0));      // MAC reloaded from the EEPROM
        Assert.Equal(0u, rig.R32(Mar0 + 0) | rig.R32(Mar0 + 4));
        Assert.Equal(0u, rig.R16(Imr));
        Assert.Equal(0u, rig.R16(Isr));
        Assert.Equal(0u, rig.R32(Rcr));
        Assert.Equal(0u, rig.R32(RbStart));
        Assert.Equal(0xFFF0u, rig.R16(Capr));
        Assert.Equal(0u, rig.R16(Cbr));
        Assert.Equal(TcrHwVersion, rig.R32(Tcr));
        for (int d = 0; d < 4; d++) Assert.Equal(TsdOwn, rig.R32(Tsd0 + 4 * d));
        Assert.Equal(0x000Fu, rig.R16(TsadAll));
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void Init_LikeRealDriver_ReadsMacAndEnables()
    {
        var rig = new Rig();
        Assert.Equal(Mac, rig.InitLikeDriver(RcrApm | RcrAb));
        Assert.Equal((uint)(CrRe | CrTe | CrBufe), rig.R8(Cr));
        Assert.Equal(Ring, rig.R32(RbStart));
        Assert.Equal((uint)AllInts, rig.R16(Imr));
        Assert.Equal(RcrApm | RcrAb, rig.R32(Rcr));
        Assert.Equal(TcrHwVersion | 0x03000600, rig.R32(Tcr));
        Assert.Equal(0x5452u, rig.R16(Idr0));
        Assert.Equal(0x1200u, rig.R16(Idr0 + 2));
        Assert.Equal(0x5634u, rig.R16(Idr0 + 4));
    }

    [Fact]
    public void Config1_WritableOnlyWhen9346CrUnlocked()
    {
        var rig = new Rig();
        rig.InitLikeDriver(0);
        rig.W8(Config1, 0x20);
        Assert.Equal(0u, rig.R8(Config1));
        rig.W8(Cr9346, Eem9346ConfigWrite);
        Assert.Equal((uint)Eem9346ConfigWrite, rig.R8(Cr9346));
        rig.W8(Config1, 0x20);
        rig.W8(Cr9346, 0);
        Assert.Equal(0x20u, rig.R8(Config1));
        rig.W8(Idr0 + 5, 0x77);
        rig.W8(Cr9346, Eem9346AutoLoad); // reload from the EEPROM, back to normal mode
        Assert.Equal(0x56u, rig.R8(Idr0 + 5));
        Assert.Equal(0u, rig.R8(Cr9346) & Eem9346Mask);
    }

    [Fact]
    public void Isr_WriteOneClears_IrqFollowsIsrAndImr()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        rig.Transmit(0, Frame(Broadcast, 60, 1));
        Assert.Equal((uint)IntTok, rig.R16(Isr));
        Assert.True(rig.Irq.Level);

        rig.W16(Imr, IntRok);
        Assert.False(rig.Irq.Level);
        rig.W16(Imr, AllInts);
        Assert.True(rig.Irq.Level);
        rig.W8(Isr + 1, 0xFF); // high byte only: TOK stays
        Assert.Equal((uint)IntTok, rig.R16(Isr));
        rig.W16(Isr, IntRok); // a different bit: TOK stays
        Assert.True(rig.Irq.Level);
        rig.W16(Isr, IntTok);
        Assert.Equal(0u, rig.R16(Isr));
        Assert.False(rig.Irq.Level);
    }

    [Fact]
    public void Capr_ReadsSixteenBelowTheReadPointer()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.W16(Capr, 0x0100 - 16);
        Assert.Equal(0x00F0u, rig.R16(Capr));
        Assert.Equal((uint)(CrRe | CrTe), rig.R8(Cr)); // read pointer 0x100 != CBR 0: BUFE clear
        rig.W16(Capr, 0xFFF0);                        // read pointer back at 0
        Assert.Equal((uint)(CrRe | CrTe | CrBufe), rig.R8(Cr));
        Assert.Equal(0u, rig.R16(Cbr));
        rig.W16(Cbr, 0x40); // read-only
        Assert.Equal(0u, rig.R16(Cbr));
    }

    [Fact]
    public void IoSpaceDisabled_ReadsAllOnes_WritesDropped()
    {
        var rig = new Rig();
        Assert.Equal(0xFFu, rig.R8(Idr0));
        rig.W16(Imr, 0xFFFF);
        rig.Nic.Config.Write(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace);
        Assert.Equal(0u, rig.R16(Imr));
        Assert.Equal(0x52u, rig.R8(Idr0));
    }

    [Fact]
    public void AnyOffsetSizeValue_NeverThrows()
    {
        int seed = Environment.TickCount;
        Console.WriteLine($"Rtl8139 register fuzz seed {seed}");
        var random = new Random(seed);
        var rig = new Rig();
        rig.InitLikeDriver(RcrAap);
        rig.Allow(Ring, 3);
        int[] sizes = [1, 2, 3, 4, 0, -1, 8];
        for (int i = 0; i < 20000; i++)
        {
            int off = random.Next(-8, 264);
            int size = sizes[random.Next(sizes.Length)];
            if ((i & 1) == 0) rig.Nic.Write(off, size, (uint)random.NextInt64());
            else rig.Nic.Read(off, size);
            if (i % 100 == 0)
            {
                var junk = new byte[random.Next(0, 1600)];
                random.NextBytes(junk);
                Mac.AsSpan(0, Math.Min(6, junk.Length)).CopyTo(junk);
                rig.Wire.Send(junk);
            }
        }
        // Whatever the fuzz did, a driver can still bring the device up.
        rig.Nic.Config.Write(PciConfigSpace.StatusOffset, 2, 0xFFFF);
        Assert.Equal(Mac, rig.InitLikeDriver(RcrApm));
        rig.W16(Isr, 0xFFFF);
        rig.Wire.Send(Frame(Mac, 100, 1));
        Assert.Equal(108u, rig.R16(Cbr));
    }

    // ---- Receive ----

    [Fact]
    public void Receive_IntoAllowedRing_HeaderDataCrcByteExact()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm | RcrAb);
        rig.Allow(Ring, 2); // exactly the 8 KiB ring
        var frame = Frame(Mac, 100, 7);
        rig.Wire.Send(frame);

        var got = rig.Phys(Ring, 4 + 104);
        Assert.Equal(new byte[] { 0x01, 0x40, 104, 0 }, got[..4]); // ROK|PAM, length with CRC
        Assert.Equal(frame, got[4..104]);
        Assert.Equal(Crc(frame), got[104..108]);
        Assert.Equal(108u, rig.R16(Cbr));
        Assert.Equal((uint)IntRok, rig.R16(Isr));
        Assert.True(rig.Irq.Level);
        Assert.Equal((uint)(CrRe | CrTe), rig.R8(Cr));
        // Nothing outside the packet was touched.
        Assert.True(rig.Pages[16].AsSpan(108).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(rig.Pages.Where((_, i) => i != 16).All(p => p.All(b => b == 0)));

        // A short broadcast is padded to 60 bytes; the next packet starts 4-byte aligned.
        var shortFrame = Frame(Broadcast, 42, 8);
        rig.Wire.Send(shortFrame);
        var second = rig.Phys(Ring + 108, 4 + 64);
        Assert.Equal(new byte[] { 0x01, 0x20, 64, 0 }, second[..4]); // ROK|BAR
        Assert.Equal(shortFrame, second[4..46]);
        Assert.All(second[46..64], b => Assert.Equal(0, b));
        var padded = second[4..64];
        Assert.Equal(Crc(padded), second[64..68]);
        Assert.Equal(176u, rig.R16(Cbr));
    }

    [Fact]
    public void Receive_ManyFrames_CbrAndCaprWrapAroundTheRing()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm); // WRAP clear: packets wrap to RBSTART
        rig.Allow(Ring, 2);
        const int ring = 8192;
        int cur = 0;
        for (int i = 0; i < 20; i++)
        {
            var frame = Frame(Mac, 1000 + i, i);
            rig.Wire.Send(frame);
            Assert.Equal((uint)IntRok, rig.R16(Isr) & IntRok);
            rig.W16(Isr, IntRok);

            // The driver's read loop: header at cur, data may wrap.
            var packet = new byte[4 + frame.Length + 4];
            for (int k = 0; k < packet.Length; k++) packet[k] = rig.Pages[16 + ((cur + k) % ring) / 4096][(cur + k) % 4096];
            Assert.Equal(0x4001, packet[0] | packet[1] << 8);
            int length = packet[2] | packet[3] << 8;
            Assert.Equal(frame.Length + 4, length);
            Assert.Equal(frame, packet[4..(4 + frame.Length)]);
            Assert.Equal(Crc(frame), packet[(4 + frame.Length)..]);

            cur = (cur + length + 4 + 3) & ~3;
            Assert.Equal((uint)(cur % ring), rig.R16(Cbr));
            cur %= ring;
            rig.W16(Capr, (uint)(cur - 16) & 0xFFFF);
            Assert.Equal((uint)(cur - 16) & 0xFFFF, rig.R16(Capr));
            Assert.Equal((uint)CrBufe, rig.R8(Cr) & CrBufe);
        }
        Assert.True(cur < 4096); // wrapped at least twice in 20 packets of ~1 KiB
        Assert.Equal(0u, rig.Nic.MissedPackets);
    }

    [Fact]
    public void Receive_WrapBitSet_PacketRunsPastRingEnd()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm | RcrWrap);
        rig.Allow(Ring, 3); // ring + slack page
        rig.W16(Capr, 8000 - 16);
        // Move CBR near the end: seven 1000-byte frames read and released as they come.
        for (int i = 0; i < 7; i++)
        {
            rig.Wire.Send(Frame(Mac, 1000, i));
            rig.W16(Capr, (rig.R16(Cbr) - 16) & 0xFFFF);
        }
        Assert.Equal(7056u, rig.R16(Cbr));
        var frame = Frame(Mac, 1400, 99);
        rig.Wire.Send(frame);
        var got = rig.Phys(Ring + 7056, 4 + 1404);
        Assert.Equal(frame, got[4..1404]);
        Assert.Equal(Crc(frame), got[1404..]);
        Assert.Equal((uint)((7056 + 1408) % 8192), rig.R16(Cbr));
    }

    [Fact]
    public void Receive_RingFull_SetsRxOvwAndDrops()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(Ring, 2);
        for (int i = 0; i < 8; i++) rig.Wire.Send(Frame(Mac, 1000, i)); // 8 × 1008 bytes
        Assert.Equal(8064u, rig.R16(Cbr));
        Assert.Equal(0u, rig.R16(Isr) & IntRxOvw);

        var snapshot = rig.Phys(Ring, 8192);
        rig.Wire.Send(Frame(Mac, 1000, 8)); // would pass CAPR+16
        Assert.Equal(8064u, rig.R16(Cbr));
        Assert.Equal((uint)IntRxOvw, rig.R16(Isr) & IntRxOvw);
        Assert.Equal(1u, rig.R32(Mpc));
        Assert.Equal(snapshot, rig.Phys(Ring, 8192));
        Assert.True(rig.Irq.Level);

        rig.W16(Capr, 2016 - 16); // the driver consumed two packets
        rig.W16(Isr, IntRxOvw | IntRok);
        rig.Wire.Send(Frame(Mac, 1000, 9));
        Assert.Equal((uint)((8064 + 1008) % 8192), rig.R16(Cbr));
        Assert.Equal((uint)IntRok, rig.R16(Isr));
        rig.W32(Mpc, 0);
        Assert.Equal(0u, rig.R32(Mpc));
    }

    [Fact]
    public void Receive_RingNotAllowed_NothingWrittenAndErrorSet()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm | RcrAb);
        rig.Allow(TxBase, 4); // the driver's other pages, not the ring
        rig.Wire.Send(Frame(Mac, 200, 1));

        Assert.True(rig.AllZero());
        Assert.Equal(0u, rig.R16(Cbr));
        Assert.Equal((uint)(IntRer | IntSerr), rig.R16(Isr));
        Assert.True(rig.Irq.Level);
        Assert.True(rig.Iommu.Denied(Rig.Rid) >= 1);
        Assert.NotEqual(0, rig.Nic.Config.Status & PciConfigSpace.StatusReceivedTargetAbort);
    }

    [Fact]
    public void Receive_RingPartlyAllowed_NoByteOutsideAllowedPages()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(Ring, 1); // only the first half of the ring
        for (int i = 0; i < 6; i++) rig.Wire.Send(Frame(Mac, 1000, i));
        Assert.True(rig.Pages.Where((_, i) => i != 16).All(p => p.All(b => b == 0)));
        Assert.Equal(4032u, rig.R16(Cbr)); // four packets fit in page 16; the fifth straddles
        Assert.Equal((uint)IntRer, rig.R16(Isr) & IntRer);
    }

    [Fact]
    public void Receive_IommuReset_LaterFramesRefused()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(Ring, 2);
        rig.Wire.Send(Frame(Mac, 100, 1));
        Assert.Equal(108u, rig.R16(Cbr));
        rig.Iommu.Reset(Rig.Rid); // the driver died
        var before = rig.Phys(Ring, 8192);
        rig.Wire.Send(Frame(Mac, 100, 2));
        Assert.Equal(108u, rig.R16(Cbr));
        Assert.Equal(before, rig.Phys(Ring, 8192));
        Assert.Equal((uint)IntRer, rig.R16(Isr) & IntRer);
    }

    [Fact]
    public void Receive_Filters_FollowRcr()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(Ring, 2);
        byte[] other = [0x02, 1, 2, 3, 4, 5];
        byte[] multicast = [0x01, 0x00, 0x5E, 0x00, 0x00, 0x01];
        rig.Wire.Send(Frame(other, 60, 1));
        rig.Wire.Send(Frame(Broadcast, 60, 2));
        rig.Wire.Send(Frame(multicast, 60, 3));
        Assert.Equal(0u, rig.R16(Cbr));

        rig.W32(Rcr, RcrApm | RcrAb | RcrAm); // AM with an empty hash filter: still dropped
        rig.Wire.Send(Frame(multicast, 60, 3));
        Assert.Equal(0u, rig.R16(Cbr));
        rig.W32(Mar0, 0xFFFFFFFF);
        rig.W32(Mar0 + 4, 0xFFFFFFFF);
        rig.Wire.Send(Frame(multicast, 60, 3));
        Assert.Equal(0x80u, rig.Phys(Ring + 1, 1)[0]); // MAR status
        rig.Wire.Send(Frame(Broadcast, 60, 2));
        Assert.Equal(0x20u, rig.Phys(Ring + 68 + 1, 1)[0]); // BAR status

        rig.W32(Rcr, RcrAap); // promiscuous: other hosts' unicast, without PAM
        rig.Wire.Send(Frame(other, 60, 1));
        Assert.Equal(new byte[] { 0x01, 0x00 }, rig.Phys(Ring + 136, 2));
        Assert.Equal(204u, rig.R16(Cbr));

        rig.W8(Cr, CrTe); // receiver off
        rig.Wire.Send(Frame(Mac, 60, 1));
        Assert.Equal(204u, rig.R16(Cbr));
    }

    // ---- Transmit ----

    [Fact]
    public void Transmit_FourDescriptorsRoundRobin_ByteExactOnWire()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        var frames = new List<byte[]>();
        for (int i = 0; i < 10; i++)
        {
            int d = i % 4;
            var frame = Frame(Broadcast, 60 + 97 * i, i);
            frames.Add(frame);
            rig.Transmit(d, frame);
            uint tsd = rig.R32(Tsd0 + 4 * d);
            Assert.Equal(TsdOwn | TsdTok, tsd & (TsdOwn | TsdTok | TsdTabt));
            Assert.Equal((uint)frame.Length, tsd & TsdSizeMask);
            Assert.Equal((uint)IntTok, rig.R16(Isr));
            Assert.Equal((uint)(0x1000 << d), rig.R16(TsadAll) & (0x1000u << d));
            rig.W16(Isr, IntTok);
        }
        Assert.Equal(frames, rig.Sent);
    }

    [Fact]
    public void Transmit_DescriptorOutOfTurn_WaitsForTheCurrentOne()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        var f1 = Frame(Broadcast, 80, 1);
        var f0 = Frame(Broadcast, 70, 0);
        rig.Transmit(1, f1);
        Assert.Empty(rig.Sent);
        Assert.Equal(0u, rig.R32(Tsd0 + 4) & TsdOwn);
        rig.Transmit(0, f0);
        Assert.Equal([f0, f1], rig.Sent);
    }

    [Fact]
    public void Transmit_WhileTeOff_WaitsForTe()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        rig.W8(Cr, CrRe);
        var f = Frame(Broadcast, 64, 1);
        rig.Transmit(0, f);
        Assert.Empty(rig.Sent);
        rig.W8(Cr, CrRe | CrTe);
        Assert.Equal([f], rig.Sent);
    }

    [Fact]
    public void Transmit_FromDisallowedPage_AbortsAndSendsNothing_ClrAbtRetries()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        var f = Frame(Broadcast, 100, 1);
        rig.Transmit(0, f, Forbidden);

        Assert.Empty(rig.Sent);
        uint tsd = rig.R32(Tsd0);
        Assert.Equal(TsdTabt, tsd & (TsdTabt | TsdOwn | TsdTok));
        Assert.Equal((uint)(IntTer | IntSerr), rig.R16(Isr));
        Assert.True(rig.Irq.Level);
        Assert.Equal(1, rig.Iommu.Denied(Rig.Rid));

        // The transmitter stays on the aborted descriptor: descriptor 1 waits.
        var g = Frame(Broadcast, 90, 2);
        rig.Transmit(1, g);
        Assert.Empty(rig.Sent);

        rig.Allow(Forbidden, 1);
        rig.W32(Tcr, rig.R32(Tcr) | TcrClrAbt);
        Assert.Equal([f, g], rig.Sent);
        Assert.Equal(TsdOwn | TsdTok, rig.R32(Tsd0) & (TsdTabt | TsdOwn | TsdTok));
        Assert.Equal(0u, rig.R32(Tcr) & TcrClrAbt);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(MaxTxSize + 1)]
    [InlineData(0x1FFF)]
    public void Transmit_BadSize_Aborts(int size)
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(TxBase, 4);
        rig.W32(Tsad0, TxBase);
        rig.W32(Tsd0, (uint)size);
        Assert.Empty(rig.Sent);
        Assert.Equal(TsdTabt, rig.R32(Tsd0) & (TsdTabt | TsdTok));
        Assert.Equal((uint)IntTer, rig.R16(Isr));
        Assert.Equal(0, rig.Iommu.Denied(Rig.Rid));
        rig.W8(Cr, CrRst); // reset leaves the abort state
        rig.InitLikeDriver(RcrApm);
        var f = Frame(Broadcast, MaxTxSize, 3);
        rig.Transmit(0, f);
        Assert.Equal([f], rig.Sent);
    }

    // ---- Bus mastering ----

    [Fact]
    public void BusMasterDisabled_NoDmaEitherWay()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm, busMaster: false);
        rig.Allow(Ring, 2);
        rig.Allow(TxBase, 4);
        Assert.True(rig.Memory.Write(TxBase, Frame(Broadcast, 60, 1)));
        var before = rig.Phys(Ring, 8192);

        rig.Wire.Send(Frame(Mac, 100, 1));
        Assert.Equal(before, rig.Phys(Ring, 8192));
        Assert.Equal(0u, rig.R16(Cbr));
        Assert.Equal((uint)IntRer, rig.R16(Isr) & IntRer);

        rig.W32(Tsad0, TxBase);
        rig.W32(Tsd0, 60);
        Assert.Empty(rig.Sent);
        Assert.Equal(TsdTabt, rig.R32(Tsd0) & TsdTabt);
        Assert.Equal((uint)IntTer, rig.R16(Isr) & IntTer);
        Assert.Equal(0, rig.Iommu.Denied(Rig.Rid)); // the device never reached the bus

        rig.Nic.Config.Write(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace | PciConfigSpace.CommandBusMaster);
        rig.W32(Tcr, rig.R32(Tcr) | TcrClrAbt);
        Assert.Single(rig.Sent);
        rig.Wire.Send(Frame(Mac, 100, 1));
        Assert.Equal(108u, rig.R16(Cbr));
    }

    [Fact]
    public void Receive_BackendThreadWhileDriverConsumes_EveryFrameDeliveredOrCounted()
    {
        var rig = new Rig();
        rig.InitLikeDriver(RcrApm);
        rig.Allow(Ring, 2);
        const int count = 3000;
        var producer = new Thread(() =>
        {
            for (int i = 0; i < count; i++)
            {
                var f = Frame(Mac, 60 + (i * 37) % 1400, i);
                f[14] = (byte)i;
                f[15] = (byte)(i >> 8);
                rig.Wire.Send(f);
            }
        });
        producer.Start();
        int cur = 0, received = 0, last = -1;
        while (producer.IsAlive || (rig.R8(Cr) & CrBufe) == 0)
        {
            if ((rig.R8(Cr) & CrBufe) != 0) continue;
            var header = rig.Phys(Ring + (uint)cur, 4);
            int length = header[2] | header[3] << 8;
            var packet = new byte[length];
            for (int k = 0; k < length; k++)
                packet[k] = rig.Pages[16 + ((cur + 4 + k) % 8192) / 4096][(cur + 4 + k) % 4096];
            int seq = packet[14] | packet[15] << 8;
            Assert.True(seq > last);
            last = seq;
            var expected = Frame(Mac, 60 + (seq * 37) % 1400, seq);
            expected[14] = (byte)seq;
            expected[15] = (byte)(seq >> 8);
            Assert.Equal(expected, packet[..^4]);
            Assert.Equal(Crc(expected), packet[^4..]);
            received++;
            cur = ((cur + length + 4 + 3) & ~3) % 8192;
            rig.W16(Capr, (uint)(cur - 16) & 0xFFFF);
        }
        producer.Join();
        Assert.Equal(count, received + (int)rig.R32(Mpc));
        Assert.True(received > 0);
    }

    [Fact]
    public void TwoDevices_TransmittingAtOnce_DoNotDeadlock()
    {
        var memory = new PhysicalMemory(64);
        for (ulong i = 0; i < 64; i++) memory.Map(i, new byte[PhysicalMemory.PageSize]);
        var iommu = new Iommu(memory, 4, 64);
        var (a, b) = PeerBackend.Pair();
        var nics = new[]
        {
            new Rtl8139Device(Mac, new IrqProbe(), a, iommu.Port(0x18)),
            new Rtl8139Device([0x52, 0x54, 0, 0, 0, 2], new IrqProbe(), b, iommu.Port(0x20)),
        };
        for (ulong p = 0; p < 64; p++)
        {
            iommu.Allow(0x18, p);
            iommu.Allow(0x20, p);
        }
        var threads = nics.Select((nic, n) => new Thread(() =>
        {
            uint ring = 0x10000u + (uint)n * 0x8000;
            nic.Config.Write(4, 2, 5);
            nic.Write(RbStart, 4, ring);
            nic.Write(Rcr, 4, RcrAb);
            nic.Write(Cr, 1, CrRe | CrTe);
            uint buf = 0x30000u + (uint)n * 0x1000;
            memory.Write(buf, Frame(Broadcast, 60, n));
            for (int i = 0; i < 2000; i++)
            {
                int d = i & 3;
                nic.Write(Tsad0 + 4 * d, 4, buf);
                nic.Write(Tsd0 + 4 * d, 4, 60);
                nic.Write(Capr, 2, (nic.Read(Cbr, 2) - 16) & 0xFFFF);
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(30)));
    }

    // ---- Two devices back to back ----

    [Fact]
    public void TwoDevices_BackToBack_FrameCrossesTheWire()
    {
        var memory = new PhysicalMemory(64);
        for (ulong i = 0; i < 64; i++) memory.Map(i, new byte[PhysicalMemory.PageSize]);
        var iommu = new Iommu(memory, 4, 64);
        var (a, b) = PeerBackend.Pair();
        byte[] macB = [0x52, 0x54, 0, 0, 0, 2];
        var nicA = new Rtl8139Device(Mac, new IrqProbe(), a, iommu.Port(0x18));
        var nicB = new Rtl8139Device(macB, new IrqProbe(), b, iommu.Port(0x20));
        foreach (var (nic, rid, ring) in new[] { (nicA, (ushort)0x18, 0x10000u), (nicB, (ushort)0x20, 0x20000u) })
        {
            nic.Config.Write(4, 2, 5);
            nic.Write(RbStart, 4, ring);
            nic.Write(Rcr, 4, RcrApm);
            nic.Write(Cr, 1, CrRe | CrTe);
            iommu.Allow(rid, ring >> 12);
            iommu.Allow(rid, (ring >> 12) + 1);
            iommu.Allow(rid, (ring >> 12) + 4);
        }
        var frame = Frame(macB, 128, 5);
        memory.Write(0x14000, frame);
        nicA.Write(Tsad0, 4, 0x14000);
        nicA.Write(Tsd0, 4, 128);
        var got = new byte[4 + 132];
        memory.Read(0x20000, got);
        Assert.Equal(frame, got[4..132]);
        Assert.Equal(136u, nicB.Read(Cbr, 2));
    }
}
