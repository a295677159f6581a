// DMA outside its buffers (thesis Fig. 3.1, Fig. 5.5 "DMA outside own buffers"): a hostile
// "driver" programs an RTL8139 with a receive ring and a transmit buffer in frames the IOMMU
// does not allow it. Nothing outside its allowed frames is written, nothing foreign is sent,
// every refused access is counted in Iommu.Denied for that device only, and a second,
// well-behaved card on the same IOMMU keeps working with no denial.
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Tests.Dma;

public sealed class HostileDmaTests
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private const ushort EvilRid = 0x0018, GoodRid = 0x0020;
    private const uint EvilOwn = 0x10000;  // frames 16–19: the hostile driver's own buffers
    private const uint Victim = 0x20000;   // frames 32–35: someone else's memory
    private const uint GoodRing = 0x30000; // frames 48–50: the good card's ring

    private sealed class Line : IIrqLine
    {
        public int Number => 11;
        public void Set(bool asserted) { }
    }

    private sealed class Card
    {
        public readonly Rtl8139Device Nic;
        public readonly PeerBackend Wire;
        public readonly List<byte[]> Sent = [];

        public Card(Iommu iommu, ushort rid)
        {
            var (a, b) = PeerBackend.Pair();
            Wire = b;
            b.Attach(f =>
            {
                lock (Sent) Sent.Add(f.ToArray());
            });
            Nic = new Rtl8139Device(Mac, new Line(), a, iommu.Port(rid));
        }

        public void Init(uint ring)
        {
            Nic.Config.Write(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace | PciConfigSpace.CommandBusMaster);
            Nic.Write(Cr, 1, CrRst);
            for (int spins = 0; (Nic.Read(Cr, 1) & CrRst) != 0; spins++) Assert.True(spins < 1000);
            Nic.Write(RbStart, 4, ring);
            Nic.Write(Imr, 2, 0xFFFF);
            Nic.Write(Rcr, 4, RcrApm | RcrAb);
            Nic.Write(Tcr, 4, 0x03000600);
            Nic.Write(Cr, 1, CrRe | CrTe);
        }
    }

    private static byte[] Frame(int length, int seed)
    {
        var f = new byte[length];
        Mac.CopyTo(f, 0);
        f[6] = 0x02;
        f[12] = 0x08;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed * 31 + i);
        return f;
    }

    [Fact]
    public void HostileRingAndTxAddresses_WriteNothingOutside_AndAreCounted()
    {
        var memory = new PhysicalMemory(64);
        var pages = new byte[64][];
        for (int i = 0; i < 64; i++)
        {
            pages[i] = new byte[PhysicalMemory.PageSize];
            Array.Fill(pages[i], (byte)(0x5A ^ i)); // a recognisable pattern in every frame
            Assert.True(memory.Map((ulong)i, pages[i]));
        }
        var snapshot = pages.Select(p => p.ToArray()).ToArray();
        var iommu = new Iommu(memory, 8, 64);
        for (ulong f = EvilOwn >> 12; f < (EvilOwn >> 12) + 4; f++) Assert.True(iommu.Allow(EvilRid, f));
        for (ulong f = GoodRing >> 12; f < (GoodRing >> 12) + 3; f++) Assert.True(iommu.Allow(GoodRid, f));
        var evil = new Card(iommu, EvilRid);
        var good = new Card(iommu, GoodRid);

        // The ring in someone else's memory: every received frame is refused and counted.
        evil.Init(Victim);
        good.Init(GoodRing);
        long denied = 0;
        for (int i = 0; i < 5; i++)
        {
            evil.Wire.Send(Frame(200 + i, i));
            long now = iommu.Denied(EvilRid);
            Assert.True(now > denied, $"frame {i}: refused DMA not counted");
            denied = now;
        }
        // The ring in the last page of its own buffers: the frames may not spill past them.
        evil.Nic.Write(Cr, 1, CrRst);
        for (int spins = 0; (evil.Nic.Read(Cr, 1) & CrRst) != 0; spins++) Assert.True(spins < 1000);
        evil.Init(EvilOwn + 3 * 0x1000);
        for (int i = 0; i < 8; i++) evil.Wire.Send(Frame(1000, 10 + i));
        Assert.True(iommu.Denied(EvilRid) > denied, "spilling past its own frames not counted");
        denied = iommu.Denied(EvilRid);

        // Transmit from someone else's memory: nothing leaves, the attempt is counted.
        evil.Nic.Write(Tsad0, 4, Victim + 0x100);
        evil.Nic.Write(Tsd0, 4, 600u | (8u << 16));
        Assert.True(iommu.Denied(EvilRid) > denied, "refused transmit DMA not counted");
        lock (evil.Sent) Assert.DoesNotContain(evil.Sent, f => f.AsSpan().IndexOf(snapshot[32].AsSpan(0, 64)) >= 0);

        // The well-behaved card on the same IOMMU receives and is never refused.
        var frame = Frame(300, 99);
        good.Wire.Send(frame);
        Assert.Equal(frame, pages[GoodRing >> 12].AsSpan(4, 300).ToArray());
        Assert.Equal(0, iommu.Denied(GoodRid));

        // No byte outside the hostile card's own frames (and the good card's ring) changed.
        for (int i = 0; i < 64; i++)
        {
            bool own = i >= (int)(EvilOwn >> 12) && i < (int)(EvilOwn >> 12) + 4;
            bool goods = i >= (int)(GoodRing >> 12) && i < (int)(GoodRing >> 12) + 3;
            if (!own && !goods) Assert.True(snapshot[i].AsSpan().SequenceEqual(pages[i]), $"frame {i} was written");
        }
    }
}
