// Shared pieces of the block-driver tests: the fields of the puppet's `blk` answers
// (tests/Components/BlockRequests.cs), the data a seeded write sends, and its SHA-256; the
// position-keyed disk pattern of the block-client tests (tests/Components/BlockPattern.cs);
// the ATA disk at_wini drives, plugged into a board, and an MBR partition table for it.
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

/// <summary>One `blk` answer: "r IPC RESULT REQUEST ID COUNT SIZE BASE SECTOR PARTITIONS FLAGS [SHA256 [HEX]]".</summary>
public sealed record BlkAnswer(string Text)
{
    private string F(int i) => Puppet.Field(Text, i);
    private long N(int i) => long.Parse(F(i), CultureInfo.InvariantCulture);

    public string Ipc => F(1);
    public string Result => F(2);
    public int Request => (int)N(3);
    public int Id => (int)N(4);
    public long Count => N(5);
    public long Size => N(6);
    public long Base => N(7);
    public int SectorSize => (int)N(8);
    public int Partitions => (int)N(9);
    public int Flags => (int)N(10);
    public string Sha => F(11);
    public string Hex => F(12);

    /// <summary>Delivered and answered with <paramref name="result"/>.</summary>
    public BlkAnswer Is(string result)
    {
        Assert.True(Ipc == "OK" && Result == result, $"expected {result}: {Text}");
        return this;
    }

    public override string ToString() => Text;
}

public static class BlockKit
{
    public static BlkAnswer Blk(this Puppet p, string command) => new(p.Ask("blk " + command, 60_000));

    /// <summary>The bytes `blk write ... LENGTH SEED` sends.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    /// <summary>Where the IDE function sits: 00:04.0 (bus master at BAR4 = 0xC100, IRQ 14), as in etc/boot.conf.</summary>
    public static readonly PciAddress AtaAddress = new(0, 4, 0);
    public const int AtaBusMaster = 0xC100, AtaIrq = 14;

    /// <summary>The second disk of docs/boot.md, on the secondary channel: 00:05.0, bus master at
    /// BAR4 = 0xC110 (its registers at 0xC118), IRQ 15.</summary>
    public static readonly PciAddress Ata1Address = new(0, 5, 0);
    public const int Ata1BusMaster = 0xC110, Ata1Irq = 15;

    /// <summary>Plugs the ATA disk model on <paramref name="image"/> into <paramref name="board"/>:
    /// the PIIX3 IDE function at AtaAddress (Ata1Address for the secondary channel) behind the
    /// IOMMU, and the channel's legacy command and control ports. For RsSystem's plug (the IRQ
    /// line is the kernel's).</summary>
    public static void PlugAta(Board board, DiskImage image, Bulkhead.Kernel.Kernel kernel, AtaChannel channel = AtaChannel.Primary)
    {
        bool secondary = channel == AtaChannel.Secondary;
        var (address, busMaster, irq) = secondary ? (Ata1Address, Ata1BusMaster, Ata1Irq) : (AtaAddress, AtaBusMaster, AtaIrq);
        var ata = new AtaController(image, secondary ? "BULKHEAD-disk1" : "BULKHEAD-disk0", kernel.IrqLine(irq),
            board.Iommu.Port(address.RequesterId), channel);
        Assert.Null(board.PlugPci(address, ata.Config, ata.BusMaster, busMaster, irq));
        Assert.True(board.Io.Register(ata.CommandBlockBase, AtaRegisters.CommandBlockLength, ata.CommandBlock));
        Assert.True(board.Io.Register(ata.ControlBlockBase, AtaRegisters.ControlBlockLength, ata.ControlBlock));
    }

    /// <summary>Formats the filter's layout on the host image, as the filter does on a new device:
    /// every whole group of the <paramref name="sectors"/> from <paramref name="first"/> zeros with
    /// a sealed checksum sector (so a test's fault counts start with the filter's own requests).</summary>
    public static void FormatFilter(DiskImage image, long first, long sectors, Bulkhead.Drivers.Block.Filter.ChecksumLayout layout)
    {
        int groupBytes = (layout.N + 1) * 512;
        var group = new byte[groupBytes];
        for (long g = 0; g < sectors / (layout.N + 1); g++)
        {
            layout.FormatGroup(g, group);
            Assert.True(image.Write((first + g * (layout.N + 1)) * 512, group));
        }
    }

    /// <summary>The image's bytes at [offset, +length), read on the host.</summary>
    public static byte[] Bytes(this DiskImage image, long offset, int length)
    {
        var b = new byte[length];
        Assert.True(image.Read(offset, b));
        return b;
    }

    /// <summary>A sector 0 holding an MBR partition table with <paramref name="entries"/>.</summary>
    public static byte[] Mbr(params (byte Status, byte Type, uint Start, uint Count)[] entries)
    {
        var s = new byte[512];
        for (int i = 0; i < entries.Length; i++)
        {
            var e = s.AsSpan(446 + 16 * i, 16);
            e[0] = entries[i].Status;
            e[4] = entries[i].Type;
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], entries[i].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(e[12..], entries[i].Count);
        }
        s[510] = 0x55;
        s[511] = 0xAA;
        return s;
    }

    /// <summary>The bytes BlockPattern (tests/Components) puts at [position, +length) for <paramref name="seed"/>.</summary>
    public static byte[] DiskPattern(long position, int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            long p = position + i;
            ulong x = (ulong)(p >> 3) * 0x9E3779B97F4A7C15UL + (ulong)(uint)seed * 0xD1B54A32D192ED03UL;
            x ^= x >> 29;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 32;
            b[i] = (byte)(x >> (int)((p & 7) * 8));
        }
        return b;
    }

    /// <summary>SHA-1 of the disk pattern over [position, +length), computed in 1 MiB pieces.</summary>
    public static string PatternSha1(long position, long length, int seed)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        for (long done = 0; done < length; done += 1 << 20)
            sha.AppendData(DiskPattern(position + done, (int)Math.Min(1 << 20, length - done), seed));
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
