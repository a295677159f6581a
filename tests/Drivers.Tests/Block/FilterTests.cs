// The filter driver (src/Drivers/Block/Filter; docs/filter.md; thesis §4.4) between a client
// that uses it as a file server would (`blkclient`, tests/Components/BlockClientComponent.cs)
// and the real at_wini on the ATA model. The disk carries an MBR with two equal partitions:
// c0d0 minor 1 is the primary, minor 2 the mirror. The image file is the oracle: data written
// through the filter must sit at the layout's data sectors with sealed checksum sectors beside
// them; bytes changed behind the filter's back (on the host image) must be detected on every
// read, served from the mirror and repaired there, or refused with EIO when there is no
// mirror — never returned.
using System.Globalization;
using Bulkhead.Drivers.Block.Filter;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class FilterTests : IDisposable
{
    private const int Read = 0x51, Write = 0x52;
    private const long Mib = 1L << 20;
    private const int Sector = 512;
    /// <summary>The partitions: minor 1 from sector 2048, minor 2 right after it.</summary>
    private const long PartSectors = 15 * Mib / Sector, Part1 = 2048, Part2 = Part1 + PartSectors;

    private const string Policies = """
        driver blkclient {
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB SENDA;
            ipc targets DS RS filter;
            ipc kernel SETGRANT SAFECOPY SETALARM TIMES SYSCTL GETINFO;
            driver filter;
        };
        """;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bulkhead-filter-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly Board _board = new();
    private DiskImage? _image;
    private RsSystem? _rs;

    public FilterTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
        File.WriteAllText(PolicyFile, Policies);
    }

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string PolicyFile => Path.Combine(_dir, "filter.conf");
    private RsSystem Rs => _rs!;

    /// <summary>A 32 MiB disk with the two partitions in its MBR, at_wini up as c0d0
    /// (<paramref name="atWiniArgs"/> after "at_wini"), the filter up with <paramref name="filterArgs"/>.</summary>
    private void Boot(string filterArgs, string atWiniArgs = "")
    {
        _image = DiskImage.Open(Path.Combine(_dir, "disk.img"), 32 * Mib);
        var mbr = BlockKit.Mbr((0, 0x81, (uint)Part1, (uint)PartSectors), (0, 0x81, (uint)Part2, (uint)PartSectors));
        Assert.True(_image.Write(0, mbr));
        _rs = new RsSystem(_output, _board, kernel => BlockKit.PlugAta(_board, _image, kernel), "max_failures=50");
        UpSpec($"label=c0d0;binary={RsSystem.Image};args=at_wini{(atWiniArgs.Length > 0 ? " " + atWiniArgs : "")};policy=at_wini", "c0d0");
        UpSpec($"label=filter;binary={RsSystem.Image};args=filter {filterArgs};policy=filter", "filter");
    }

    private void UpSpec(string spec, string label)
    {
        var up = Rs.Manager.Ask("rs-spec up " + spec);
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState(label, "running");
    }

    private int UpClient(string args = "timeout=5000")
    {
        var up = Rs.Manager.Ask($"rs-spec up label=blkclient;binary={TestSystem.TestProc};args=blkclient label=filter minor=0 {args};policy=blkclient;isolation={PolicyFile};period=1000");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState("blkclient", "running");
        return RsKit.Ep(Rs.Row("blkclient"));
    }

    private (long Result, string Sha1) Op(int client, int type, long a, long b, long c)
    {
        var answer = Puppet.Await(Rs.Client.AskAsync($"sendrec3 {client} {type} {a} {b} {c}"), 120_000);
        Assert.True(Puppet.Field(answer, 1) == "OK" && Puppet.Field(answer, 3) == "0", answer);
        long result = Puppet.LongField(answer, 4);
        string what = type == Read ? "read" : "write";
        string line = Rs.Sys.Console.Lines.LastOrDefault(l => l.Contains($"blkclient: {what} {a} {b} -> ", StringComparison.Ordinal)) ?? "";
        var w = line.Split(' ');
        int i = Array.IndexOf(w, "sha1");
        return (result, i >= 0 && i + 1 < w.Length ? w[i + 1] : "");
    }

    private long WriteSeeded(int client, long position, long length, int seed, long chunk = 65536) =>
        Op(client, Write, position, length, chunk | ((long)seed << 32)).Result;

    private int FilterLines(string what) => Rs.Sys.Console.Lines.Count(l => l.Contains("filter: ", StringComparison.Ordinal) && l.Contains(what, StringComparison.Ordinal));

    /// <summary>Virtual sector <paramref name="v"/>'s data sector on the image, in partition <paramref name="partition"/>.</summary>
    private static long ImageSector(ChecksumLayout layout, long partition, long v) => partition + layout.DataSector(v);

    private byte[] ImageRead(long sector, int sectors = 1) => _image!.Bytes(sector * Sector, sectors * Sector);

    [Fact]
    public void Checksums_ManyPositions_DataWhereTheLayoutSays_ChecksumSectorsSealed()
    {
        var layout = new ChecksumLayout(16);
        Boot("primary=c0d0:1 checksum=16");
        int client = UpClient();
        (long Position, long Length)[] cases = [(0, 512), (512, 4096), (15 * 512, 1024), (8192, 65536), (3 * Mib + 1536, 200 * 1024), (100 * 512, 17 * 512)];
        int seed = 40;
        foreach (var (position, length) in cases)
        {
            Assert.Equal(length, WriteSeeded(client, position, length, ++seed, 8192));
            var (got, sha) = Op(client, Read, position, length, 65536);
            Assert.Equal((length, BlockKit.PatternSha1(position, length, seed)), (got, sha));
            // On the image: each virtual sector at its data sector, its checksum in the slot.
            for (long v = position / Sector; v < (position + length) / Sector; v += 7)
            {
                var data = ImageRead(ImageSector(layout, Part1, v));
                Assert.Equal(BlockKit.DiskPattern(v * Sector, Sector, seed), data);
                var ck = ImageRead(Part1 + layout.ChecksumSector(v));
                Assert.True(ChecksumLayout.SealIntact(ck, layout.ChecksumSector(v)));
                Assert.Equal(ChecksumLayout.Sum(data, layout.DataSector(v)), ChecksumLayout.Slot(ck, (int)(v % 16)));
            }
        }
        // The earlier writes' neighbours in shared groups kept their data.
        Assert.Equal(BlockKit.PatternSha1(0, 512, 41), Op(client, Read, 0, 512, 512).Sha1);
        // The virtual disk: 15 MiB of physical sectors, 16 of every 17 for data.
        Assert.Equal(0, Op(client, Read, PartSectors / 17 * 16 * Sector, 512, 512).Result);
        Assert.Equal(512, Op(client, Read, (PartSectors / 17 * 16 - 1) * Sector, 4096, 4096).Result);
    }

    [Fact]
    public void NeverWritten_ReadsAsZeros_ButADirtySectorIsRefused()
    {
        Boot("primary=c0d0:1 checksum=32");
        int client = UpClient();
        using var sha1 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA1);
        sha1.AppendData(new byte[65536]);
        string zeros = Convert.ToHexString(sha1.GetHashAndReset());
        Assert.Equal((65536L, zeros), Op(client, Read, Mib, 65536, 65536));
        // A byte that appears on a never-written group's data sector does not match its blank checksum.
        var layout = new ChecksumLayout(32);
        Assert.True(_image!.Write(ImageSector(layout, Part1, 5000) * Sector + 17, new byte[] { 0x5A }));
        Assert.Equal(Err.EIO, Op(client, Read, 5000L * Sector, 512, 512).Result);
    }

    [Fact]
    public void Mirrored_PrimaryCorruptedOnTheImage_EveryReadRight_PrimaryRepaired()
    {
        var layout = new ChecksumLayout(64);
        Boot("primary=c0d0:1 backup=c0d0:2 checksum=64");
        int client = UpClient();
        const long Length = 4 * Mib;
        Assert.Equal(Length, WriteSeeded(client, 0, Length, 7));
        // Both copies hold the same physical sectors.
        long physical = layout.DataSector(Length / Sector - 1) + 1;
        Assert.Equal(ImageRead(Part1, (int)physical), ImageRead(Part2, (int)physical));

        // Corrupt the primary behind the filter's back: 20 data sectors and 3 checksum sectors.
        var rng = new Random(3);
        var hit = new List<long>();
        for (int i = 0; i < 20; i++)
        {
            long v = rng.NextInt64(Length / Sector);
            long s = ImageSector(layout, Part1, v);
            var b = ImageRead(s);
            b[rng.Next(Sector)] ^= (byte)(1 << rng.Next(8));
            Assert.True(_image!.Write(s * Sector, b));
            hit.Add(s);
        }
        foreach (long v in new long[] { 100, 3000, 7000 })
        {
            long s = Part1 + layout.ChecksumSector(v);
            var b = ImageRead(s);
            b[9] ^= 0x10;
            Assert.True(_image!.Write(s * Sector, b));
            hit.Add(s);
        }
        int detectedBefore = FilterLines("fails its checksum") + FilterLines("is damaged");
        var (got, sha) = Op(client, Read, 0, Length, 65536);
        Assert.Equal((Length, BlockKit.PatternSha1(0, Length, 7)), (got, sha));
        Assert.True(FilterLines("fails its checksum") + FilterLines("is damaged") > detectedBefore);
        Assert.True(FilterLines("repaired from c0d0:2") > 0);
        // The primary is whole again: the image's two copies agree.
        Assert.Equal(ImageRead(Part2, (int)physical), ImageRead(Part1, (int)physical));
        Assert.Equal((Length, BlockKit.PatternSha1(0, Length, 7)), Op(client, Read, 0, Length, 65536));
    }

    [Fact]
    public void Unmirrored_CorruptedSector_EIO_NeverTheWrongData()
    {
        var layout = new ChecksumLayout(64);
        Boot("primary=c0d0:1 checksum=64 retries=2 complaints=0");
        int client = UpClient();
        Assert.Equal(Mib, WriteSeeded(client, 0, Mib, 9));
        long s = ImageSector(layout, Part1, 1000);
        var b = ImageRead(s);
        b[100] ^= 1;
        Assert.True(_image!.Write(s * Sector, b));
        Assert.Equal(Err.EIO, Op(client, Read, 1000L * Sector, 4096, 4096).Result);
        // The sectors around it still read right; the bad one stays refused.
        Assert.Equal(BlockKit.PatternSha1(0, 1000L * Sector, 9), Op(client, Read, 0, 1000L * Sector, 65536).Sha1);
        Assert.Equal(Err.EIO, Op(client, Read, 1000L * Sector, 512, 512).Result);
        // A write over it makes it whole again.
        Assert.Equal(512, WriteSeeded(client, 1000L * Sector, 512, 9, 512));
        Assert.Equal(BlockKit.PatternSha1(0, Mib, 9), Op(client, Read, 0, Mib, 65536).Sha1);
    }

    [Fact]
    public void FilterKilledMidTransfer_RestartedAndTheTransferCompletes()
    {
        Boot("primary=c0d0:1 backup=c0d0:2 checksum=64");
        int client = UpClient("timeout=3000");
        const long Length = 8 * Mib;
        Assert.Equal(Length, WriteSeeded(client, 0, Length, 11));
        int ep = RsKit.Ep(Rs.Row("filter"));
        long start = Rs.Sys.Find(ep)!.Value.Traps;
        var pending = Rs.Client.AskAsync($"sendrec3 {client} {Read} 0 {Length} {Mib}");
        TestSystem.WaitUntil(() => pending.IsCompleted || Rs.Sys.Find(ep) is not { } p || p.Traps > start + 500, "the filter at work", 30_000);
        Assert.False(pending.IsCompleted);
        Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(ep, 9));
        var answer = Puppet.Await(pending, 120_000);
        Assert.Equal(Length, Puppet.LongField(answer, 4));
        string line = Rs.Sys.Console.Lines.Last(l => l.Contains($"blkclient: read 0 {Length} -> ", StringComparison.Ordinal));
        Assert.Contains("sha1 " + BlockKit.PatternSha1(0, Length, 11), line);
        Assert.NotEqual(ep, RsKit.Ep(Rs.Row("filter")));
    }

    [Fact]
    public void NewDeviceFormatted_ADeviceHoldingAnotherLayoutLeftAlone()
    {
        var layout = new ChecksumLayout(32);
        Boot("primary=c0d0:1 checksum=32");
        Assert.Contains(Rs.Sys.Console.Lines, l => l.Contains("filter: formatted c0d0:1: ", StringComparison.Ordinal));
        // Every group zeros with its checksum sector sealed.
        for (long v = 0; v < PartSectors / 33 * 32; v += 997)
            Assert.True(ChecksumLayout.SealIntact(ImageRead(Part1 + layout.ChecksumSector(v)), layout.ChecksumSector(v)));
        // A filter with another N finds neither zeros nor its seal where it looks: it says so
        // and leaves the device alone; its reads fail their check, never return the other's data.
        int client = UpClient();
        Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(RsKit.Ep(Rs.Row("filter")), 9));
        var before = ImageRead(Part1, 66);
        var up = Rs.Manager.Ask($"rs-spec up label=filter2;binary={RsSystem.Image};args=filter primary=c0d0:1 checksum=16;policy=filter");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState("filter2", "running");
        Assert.Contains(Rs.Sys.Console.Lines, l => l.Contains("filter2: c0d0:1 holds something other than this filter's layout", StringComparison.Ordinal));
        Assert.Equal(before, ImageRead(Part1, 66));
        _ = client;
    }

    [Fact]
    public void BadArguments_RefusedToStart()
    {
        Assert.Null(FilterOptions.Parse(["checksum=16"], out string e1));
        Assert.Contains("primary", e1);
        Assert.Null(FilterOptions.Parse(["primary=c0d0:1", "checksum=128"], out string e2));
        Assert.Contains("checksum=128", e2);
        Assert.Null(FilterOptions.Parse(["primary=c0d0:1", "backup=c0d0:1"], out _));
        Assert.Null(FilterOptions.Parse(["primary=c0d0", "verify"], out _));
        Assert.Null(FilterOptions.Parse(["primary=c0d0:1", "scope=forever"], out _));
        var o = FilterOptions.Parse(["primary=c0d0:1", "backup=c0d0:2", "checksum=127", "verify", "retries=5", "complaints=2", "scope=lifetime", "outage=4", "timeout=900", "format=7"], out _)!;
        Assert.Equal(7, o.FormatEpoch);
        Assert.Null(FilterOptions.Parse(["primary=c0d0:1", "format=0"], out _));
        Assert.Equal((("c0d0", 1), ("c0d0", 2), 127, true, 5, 2, true, 4, 900L),
                     (o.Primary, o.Backup!.Value, o.Checksum, o.Verify, o.Retries, o.Complaints, o.ComplaintsPerLifetime, o.Outage, o.TimeoutMs));
    }
}
