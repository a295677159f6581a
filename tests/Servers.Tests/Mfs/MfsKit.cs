// Path-level helpers over the engine for tests: mount, make directories, write and read whole
// files, SHA-256 of contents, and an Ok assertion that names the failing call's error.
using System.Security.Cryptography;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Servers.Tests.Mfs;

public static class MfsKit
{
    public static readonly MfsCred Root = MfsCred.Root;

    public static void Ok(MfsError e, string what = "") => Assert.True(e == MfsError.None, $"{what}: {e}");

    public static MfsEngine Mount(IBlockDevice device, MfsOptions? options = null)
    {
        var r = MfsEngine.TryMount(device, options, out var e, out string reason);
        Assert.True(r == MfsError.None, $"mount: {r} {reason}");
        return e!;
    }

    public static MemoryBlockDevice NewDisk(int sizeBytes, int blockSize = 1024, long inodes = 0)
    {
        var d = new MemoryBlockDevice(sizeBytes);
        Ok(Mkfs.Format(d, new Mkfs.Options { BlockSize = blockSize, Inodes = inodes, Time = 1_700_000_000 }, out _), "mkfs");
        return d;
    }

    public static uint Ino(MfsEngine e, string path)
    {
        Ok(e.Resolve(path, Root, followLast: false, out uint ino), $"resolve {path}");
        return ino;
    }

    public static uint Mkdir(MfsEngine e, string path, ushort mode = 0x1ED)
    {
        Ok(e.ResolveParent(path, Root, out uint dir, out string name), $"parent of {path}");
        Ok(e.Mkdir(dir, name, mode, Root, out uint ino), $"mkdir {path}");
        return ino;
    }

    public static MfsError TryWriteFile(MfsEngine e, string path, ReadOnlySpan<byte> data, out uint ino, int chunk = 65536)
    {
        ino = 0;
        var r = e.ResolveParent(path, Root, out uint dir, out string name);
        if (r != MfsError.None) return r;
        r = e.Create(dir, name, 0x1A4, Root, out ino);
        if (r != MfsError.None) return r;
        for (int at = 0; at < data.Length; at += chunk)
        {
            var piece = data.Slice(at, Math.Min(chunk, data.Length - at));
            r = e.Write(ino, at, piece, out int n);
            if (r != MfsError.None) return r;
            if (n < piece.Length) return MfsError.ENOSPC;
        }
        return MfsError.None;
    }

    public static uint WriteFile(MfsEngine e, string path, ReadOnlySpan<byte> data)
    {
        Ok(TryWriteFile(e, path, data, out uint ino), $"write {path}");
        return ino;
    }

    public static byte[] ReadFile(MfsEngine e, string path)
    {
        Ok(e.Resolve(path, Root, followLast: true, out uint ino), $"resolve {path}");
        Ok(e.Stat(ino, out var st), $"stat {path}");
        var data = new byte[st.Size];
        int at = 0;
        while (at < data.Length)
        {
            Ok(e.Read(ino, at, data.AsSpan(at, Math.Min(50_000, data.Length - at)), out int n), $"read {path}");
            Assert.True(n > 0, $"read {path} at {at}: 0 bytes before the end");
            at += n;
        }
        return data;
    }

    public static byte[] RandomBytes(int seed, int length)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    public static List<MfsDirEntry> List(MfsEngine e, string path)
    {
        uint dir = Ino(e, path);
        var all = new List<MfsDirEntry>();
        long off = 0;
        while (true)
        {
            int before = all.Count;
            Ok(e.GetDents(dir, off, 7, all, out long next), $"getdents {path}");
            if (all.Count == before) return all;
            off = next;
        }
    }
}
