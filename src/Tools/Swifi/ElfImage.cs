// The parts of an ELF64 executable that the injector needs: its program headers (to turn a
// symbol's link-time address into the running process's address) and its function symbols
// from .symtab (NativeAOT keeps them when published with StripSymbols=false: every managed
// method is a FUNC named Assembly_Namespace_Type__Method). Only little-endian x86-64 files are
// accepted; anything else, or a file without .symtab, is an error that names the file.
// Rules: the file is read once into memory and parsed with bounds checks on every offset; a
// malformed table throws InvalidDataException with the file's name, never reads out of range.
using System.Buffers.Binary;
using System.Text;

namespace Bulkhead.Swifi;

/// <summary>A function of the image: its symbol name, link-time address and size in bytes.</summary>
public sealed record ElfFunction(string Name, ulong Address, ulong Size);

public sealed class ElfImage
{
    private const int PtLoad = 1, ShtSymtab = 2, SttFunc = 2;

    public string Path { get; }
    /// <summary>The link-time address of the PT_LOAD segment that maps file offset 0 (0 for PIE).</summary>
    public ulong FirstLoadAddress { get; }
    public IReadOnlyList<ElfFunction> Functions { get; }
    /// <summary>The file's bytes.</summary>
    public ReadOnlyMemory<byte> File { get; }
    private readonly List<(ulong Address, ulong Offset, ulong Size)> _segments;

    private ElfImage(string path, byte[] file, ulong firstLoad, List<(ulong, ulong, ulong)> segments, List<ElfFunction> functions)
    {
        Path = path;
        File = file;
        FirstLoadAddress = firstLoad;
        _segments = segments;
        Functions = functions;
    }

    /// <summary>Where the <paramref name="length"/> bytes at link-time <paramref name="address"/>
    /// are in the file; false unless one PT_LOAD segment holds them all from the file.</summary>
    public bool TryFileOffset(ulong address, int length, out long offset)
    {
        foreach (var (a, o, size) in _segments)
            if (address >= a && address - a + (ulong)length <= size)
            {
                offset = (long)(o + (address - a));
                return true;
            }
        offset = 0;
        return false;
    }

    public static ElfImage Load(string path) => Parse(System.IO.File.ReadAllBytes(path), path);

    public static ElfImage Parse(byte[] f, string path)
    {
        InvalidDataException Bad(string why) => new($"{path}: {why}");
        if (f.Length < 64 || f[0] != 0x7F || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F') throw Bad("not an ELF file");
        if (f[4] != 2 || f[5] != 1) throw Bad("not a little-endian ELF64 file");
        if (BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(18)) != 62) throw Bad("not an x86-64 file");
        ulong phoff = U64(f, 32), shoff = U64(f, 40);
        int phentsize = U16(f, 54), phnum = U16(f, 56), shentsize = U16(f, 58), shnum = U16(f, 60);
        if (phentsize < 56 || shentsize < 64) throw Bad("bad header entry sizes");

        ulong? firstLoad = null;
        var segments = new List<(ulong, ulong, ulong)>();
        for (int i = 0; i < phnum; i++)
        {
            int ph = Checked(f, phoff + (ulong)(i * phentsize), 56, path);
            if (U32(f, ph) != PtLoad) continue;
            ulong offset = U64(f, ph + 8), vaddr = U64(f, ph + 16), filesz = U64(f, ph + 32);
            Checked(f, offset, filesz, path);
            segments.Add((vaddr, offset, filesz));
            if (offset == 0) firstLoad = vaddr;
        }
        if (firstLoad is null) throw Bad("no PT_LOAD segment maps file offset 0");

        var functions = new List<ElfFunction>();
        bool symtab = false;
        for (int i = 0; i < shnum; i++)
        {
            int sh = Checked(f, shoff + (ulong)(i * shentsize), 64, path);
            if (U32(f, sh + 4) != ShtSymtab) continue;
            symtab = true;
            ulong off = U64(f, sh + 24), size = U64(f, sh + 32), entsize = U64(f, sh + 56);
            int link = (int)U32(f, sh + 40);
            if (entsize < 24 || link >= shnum) throw Bad("bad .symtab header");
            int strSh = Checked(f, shoff + (ulong)(link * shentsize), 64, path);
            ulong strOff = U64(f, strSh + 24), strSize = U64(f, strSh + 32);
            Checked(f, strOff, strSize, path);
            Checked(f, off, size, path);
            for (ulong e = off; e + 24 <= off + size; e += entsize)
            {
                int s = (int)e;
                if ((f[s + 4] & 0xF) != SttFunc) continue;
                ulong value = U64(f, s + 8), bytes = U64(f, s + 16);
                if (bytes == 0 || U16(f, s + 6) == 0) continue;   // undefined or sizeless
                uint nameAt = U32(f, s);
                if (nameAt >= strSize) throw Bad("a symbol name is outside .strtab");
                int start = (int)(strOff + nameAt), end = start;
                while (end < (int)(strOff + strSize) && f[end] != 0) end++;
                functions.Add(new ElfFunction(Encoding.ASCII.GetString(f, start, end - start), value, bytes));
            }
        }
        if (!symtab) throw Bad("no .symtab (publish NativeAOT with -p:StripSymbols=false)");
        functions.Sort((a, b) => a.Address.CompareTo(b.Address));
        return new ElfImage(path, f, firstLoad.Value, segments, functions);
    }

    private static int Checked(byte[] f, ulong offset, ulong length, string path) =>
        offset <= (ulong)f.Length && length <= (ulong)f.Length - offset
            ? (int)offset
            : throw new InvalidDataException($"{path}: a table at offset {offset} runs past the end of the file");

    private static ushort U16(byte[] f, int at) => BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(at));
    private static uint U32(byte[] f, int at) => BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(at));
    private static ulong U64(byte[] f, int at) => BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(at));
}
