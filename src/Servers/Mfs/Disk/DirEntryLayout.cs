// A MINIX v3 directory entry: 64 bytes, a u32 inode number (0 = free slot) and a 60-byte name
// padded with NULs (not terminated when it is 60 bytes long). Every directory starts with "."
// and ".." in its first two slots; a directory's size is a multiple of 64 and its slots never
// straddle a block. Names are bytes; the engine takes and gives them as UTF-8.
using System.Buffers.Binary;
using System.Text;

namespace Bulkhead.Servers.Mfs.Disk;

public static class DirEntryLayout
{
    public const int Size = 64;
    public const int NameMax = 60;

    public static uint InodeOf(ReadOnlySpan<byte> entry) => BinaryPrimitives.ReadUInt32LittleEndian(entry);

    public static ReadOnlySpan<byte> NameOf(ReadOnlySpan<byte> entry)
    {
        var name = entry.Slice(4, NameMax);
        int end = name.IndexOf((byte)0);
        return end < 0 ? name : name[..end];
    }

    public static void Write(Span<byte> entry, uint inode, ReadOnlySpan<byte> name)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(entry, inode);
        var field = entry.Slice(4, NameMax);
        field.Clear();
        name.CopyTo(field);
    }

    public static void SetInode(Span<byte> entry, uint inode) => BinaryPrimitives.WriteUInt32LittleEndian(entry, inode);

    public static string Decode(ReadOnlySpan<byte> name) => Encoding.UTF8.GetString(name);
}
