// The 512-byte IDENTIFY DEVICE block of the model's disk, word by word as ATA/ATAPI-6
// (T13/1410D, table 27) lays it out. Interface: Build(settings) fills 256 little-endian words.
// Facts it relies on: strings are ASCII, space-padded, with the two characters of each word
// swapped (the first character in the high byte); words 60–61 hold the LBA28 capacity, capped
// at 0x0FFFFFFF for larger disks, which then need LBA48 (words 100–103, 64 bits); words 83 and
// 86 bit 10 say LBA48 is supported and enabled, bits 12–13 FLUSH CACHE (EXT); word 49 bits 8–9
// DMA and LBA; 47 the most sectors per READ/WRITE MULTIPLE block (high byte 0x80), 59 the current
// setting (bit 8 valid); 63 and 88 the multiword and Ultra DMA modes supported (low byte) and
// selected (high byte); 82/85 bit 5 the write cache; word 255 0xA5 and a checksum that makes
// the 512 bytes sum to 0 mod 256. Nothing here has state.
namespace Bulkhead.Machine.Devices.Ata;

internal static class AtaIdentify
{
    public const int MaxMultiple = 16;          // sectors per DRQ block for READ/WRITE MULTIPLE
    public const uint Lba28Limit = 0x0FFF_FFFF; // LBA28 addresses 0 .. 2^28 - 2; the capacity word says at most this
    public const int DefaultHeads = 16, DefaultSectorsPerTrack = 63, MaxCylinders = 16383;

    public const string Model = "BULKHEAD ATA DISK";
    public const string Firmware = "1.0";

    /// <summary>What the block reports: the disk's size, its serial number, and the settings the
    /// driver changed (multiple count, transfer mode, write cache, current CHS translation).</summary>
    public readonly record struct Settings(long Sectors, string Serial, int Multiple, byte TransferMode,
        bool WriteCache, int Heads, int SectorsPerTrack);

    public static void Build(in Settings s, Span<byte> block)
    {
        Span<ushort> w = stackalloc ushort[256];
        w.Clear();
        long chs = Math.Min(s.Sectors, (long)MaxCylinders * DefaultHeads * DefaultSectorsPerTrack);
        w[0] = 0x0040;                                        // ATA device, fixed
        w[1] = (ushort)(chs / (DefaultHeads * DefaultSectorsPerTrack));
        w[3] = DefaultHeads;
        w[6] = DefaultSectorsPerTrack;
        Text(w, 10, 20, s.Serial);
        Text(w, 23, 8, Firmware);
        Text(w, 27, 40, Model);
        w[47] = 0x8000 | MaxMultiple;
        w[49] = 0x0300;                                       // LBA and DMA supported
        w[50] = 0x4000;
        w[51] = 0x0200;                                       // PIO timing mode 2 (obsolete word)
        w[53] = 0x0007;                                       // words 54–58, 64–70 and 88 are valid
        long cyl = Math.Min(s.Sectors / (s.Heads * s.SectorsPerTrack), 0xFFFF);
        uint current = (uint)(cyl * s.Heads * s.SectorsPerTrack);
        w[54] = (ushort)cyl;
        w[55] = (ushort)s.Heads;
        w[56] = (ushort)s.SectorsPerTrack;
        w[57] = (ushort)current;
        w[58] = (ushort)(current >> 16);
        w[59] = (ushort)(s.Multiple != 0 ? 0x0100 | s.Multiple : 0);
        uint lba28 = (uint)Math.Min(s.Sectors, Lba28Limit);
        w[60] = (ushort)lba28;
        w[61] = (ushort)(lba28 >> 16);
        w[63] = (ushort)(0x0007 | Selected(s.TransferMode, AtaRegisters.ModeMultiwordDma, 2));
        w[64] = 0x0003;                                       // PIO modes 3 and 4
        w[65] = w[66] = w[67] = w[68] = 120;                  // cycle times, ns
        w[80] = 0x00F0;                                       // ATA/ATAPI-4 to -7
        w[82] = 0x0020;                                       // write cache supported
        w[83] = 0x7400;                                       // FLUSH CACHE EXT, FLUSH CACHE, LBA48
        w[84] = 0x4000;
        w[85] = (ushort)(s.WriteCache ? 0x0020 : 0);
        w[86] = 0x3400;
        w[87] = 0x4000;
        w[88] = (ushort)(0x003F | Selected(s.TransferMode, AtaRegisters.ModeUltraDma, 5)); // UDMA 0–5
        w[93] = 0x600B;                                       // device 0 by jumper, diagnostics passed, 80-wire cable
        for (int i = 0; i < 4; i++) w[100 + i] = (ushort)(s.Sectors >> (16 * i));
        w[106] = 0x4000;                                      // 512-byte logical sectors
        w[255] = 0x00A5;
        for (int i = 0; i < 256; i++)
        {
            block[2 * i] = (byte)w[i];
            block[2 * i + 1] = (byte)(w[i] >> 8);
        }
        byte sum = 0;
        for (int i = 0; i < 511; i++) sum += block[i];
        block[511] = (byte)-sum;
    }

    /// <summary>The "selected" bit (high byte) for <paramref name="mode"/> if it is a mode of <paramref name="kind"/>.</summary>
    private static int Selected(byte mode, byte kind, int maxMode) =>
        (mode & 0xF8) == kind && (mode & 7) <= maxMode ? 0x100 << (mode & 7) : 0;

    private static void Text(Span<ushort> w, int first, int length, string text)
    {
        for (int i = 0; i < length; i += 2)
        {
            char a = i < text.Length ? text[i] : ' ', b = i + 1 < text.Length ? text[i + 1] : ' ';
            w[first + i / 2] = (ushort)((a << 8) | b);
        }
    }
}
