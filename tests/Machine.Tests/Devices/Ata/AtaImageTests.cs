// The disk's host image (src/Machine/Storage/DiskImage.cs): created sparse at first use with
// the configured size, reopened with its data, grown sparsely to a larger configured size,
// sized from the file when no size is given, and refused with a readable error when it is
// missing without a size or not a whole number of sectors.
using System.Diagnostics;
using Bulkhead.Machine.Storage;
using Xunit;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bulkhead-image-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Blocks the file really occupies on the host (stat %b, 512-byte units).</summary>
    private static long AllocatedBlocks(string path)
    {
        var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%b", path]) { RedirectStandardOutput = true })!;
        string s = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return long.Parse(s.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Open_MissingFile_CreatesItSparseWithTheSize_ReadsZeros()
    {
        string path = Path.Combine(_dir, "d.img");
        using (var d = DiskImage.Open(path, 256L << 20))
        {
            Assert.True(d.Created);
            Assert.Equal(524288, d.Sectors);
            var b = new byte[4096];
            b[0] = 1;
            Assert.True(d.Read((256L << 20) - 4096, b));
            Assert.Equal(new byte[4096], b);
            Assert.True(d.Write(512 * 1000, [1, 2, 3]));
        }
        Assert.Equal(256L << 20, new FileInfo(path).Length);
        Assert.True(AllocatedBlocks(path) < 1024, "a fresh image must be sparse");
        using var again = DiskImage.Open(path, 0);              // the size from the file
        Assert.False(again.Created);
        Assert.Equal(524288, again.Sectors);
        var back = new byte[3];
        Assert.True(again.Read(512 * 1000, back));
        Assert.Equal(new byte[] { 1, 2, 3 }, back);
    }

    [Fact]
    public void Open_SmallerFile_GrowsSparselyToTheConfiguredSize_KeepsItsData()
    {
        string path = Path.Combine(_dir, "g.img");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)7, 1024).ToArray());
        using var d = DiskImage.Open(path, 1L << 20);
        Assert.Equal(2048, d.Sectors);
        Assert.Equal(1L << 20, new FileInfo(path).Length);
        var b = new byte[1024];
        Assert.True(d.Read(0, b));
        Assert.All(b, x => Assert.Equal(7, x));
    }

    [Fact]
    public void Open_MissingWithoutSize_OrTooSmall_OrBadSize_IsRefused()
    {
        string path = Path.Combine(_dir, "none.img");
        Assert.Contains("no size", Assert.Throws<IOException>(() => DiskImage.Open(path, 0)).Message);
        Assert.False(File.Exists(path));
        File.WriteAllBytes(path, new byte[100]);
        Assert.Throws<IOException>(() => DiskImage.Open(path, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DiskImage.Open(path, 1000));
    }
}
