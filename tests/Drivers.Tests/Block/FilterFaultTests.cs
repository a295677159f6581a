// The filter driver (src/Drivers/Block/Filter; thesis §4.4) in front of an at_wini that
// misbehaves on purpose (`fault=KIND[,every=N][,minor=M]`, src/Drivers/Block/BlockFaults.cs):
// flipped bits in read data, EIO answers, writes answered OK that did nothing or landed one
// sector off, and requests never answered — each behind the filter with and without a mirror.
// The fixture is FilterTests's: an MBR with two partitions (c0d0 minor 1 the primary, minor 2
// the mirror), at_wini and the filter under RS, and `blkclient` driving the filter with reads
// and seeded writes (tests/Components/BlockClientComponent.cs). blkclient tries each request
// once (attempts=1), so an EIO of the filter reaches the test instead of being retried.
// What each test holds the filter to: every injected fault detected (counted against how many
// at_wini's counter must have hit: it counts per instance from its start, so the tests that
// count run with complaints=0 and at_wini is never restarted under them), repaired when there
// is a mirror, EIO when nothing can mend it, never wrong data; and the image file, read on the
// host, holds the written pattern where the layout puts it (ChecksumLayout.DataSector).
using Bulkhead.Drivers.Block.Filter;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class FilterFaultTests : IDisposable
{
    private const int Read = 0x51, Write = 0x52, Sector = 512, Chunk = 65536;
    private const long Mib = 1L << 20;
    /// <summary>The partitions: minor 1 from sector 2048, minor 2 right after it (15 MiB each).</summary>
    private const long PartSectors = 15 * Mib / Sector, Part1 = 2048, Part2 = Part1 + PartSectors;
    /// <summary>Every test keeps a checksum sector after every 16 data sectors: a 64 KiB chunk
    /// is 8 whole groups, one request of 136 sectors to a device, its checksum sectors inside.</summary>
    private static readonly ChecksumLayout Layout = new(16);

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bulkhead-filterfault-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private DiskImage? _image;
    private RsSystem? _rs;
    private int _client;

    public FilterFaultTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private RsSystem Rs => _rs!;
    private DiskImage Image => _image!;

    /// <summary>The disk, at_wini with <paramref name="fault"/>, the filter with
    /// <paramref name="filterArgs"/>, and blkclient on it. RS restarts at_wini after at most
    /// 200 ms of backoff, so the tests that have it restarted stay fast.</summary>
    private void Boot(string filterArgs, string fault)
    {
        _image = DiskImage.Open(Path.Combine(_dir, "disk.img"), 32 * Mib);
        Assert.True(_image.Write(0, BlockKit.Mbr((0, 0x81, (uint)Part1, (uint)PartSectors), (0, 0x81, (uint)Part2, (uint)PartSectors))));
        BlockKit.FormatFilter(_image, Part1, PartSectors, Layout);
        BlockKit.FormatFilter(_image, Part2, PartSectors, Layout);
        var board = new Board();
        _rs = new RsSystem(_output, board, kernel => BlockKit.PlugAta(board, _image, kernel), "max_failures=50", "backoff_base_ms=50", "backoff_cap_ms=200");
        string policy = Path.Combine(_dir, "blkclient.conf");
        File.WriteAllText(policy, """
            driver blkclient {
                ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB SENDA;
                ipc targets DS RS filter;
                ipc kernel SETGRANT SAFECOPY SETALARM TIMES SYSCTL GETINFO;
            };
            """);
        foreach (var (label, spec) in new[]
                 {
                     ("c0d0", $"binary={RsSystem.Image};args=at_wini {fault};policy=at_wini"),
                     ("filter", $"binary={RsSystem.Image};args=filter {filterArgs};policy=filter;period=500"),
                     ("blkclient", $"binary={TestSystem.TestProc};args=blkclient label=filter minor=0 timeout=30000 attempts=1;policy=blkclient;isolation={policy};period=1000"),
                 })
        {
            var up = Rs.Manager.Ask($"rs-spec up label={label};{spec}");
            Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
            Rs.WaitState(label, "running");
        }
        _client = RsKit.Ep(Rs.Row("blkclient"));
    }

    private static string Backup(bool mirrored) => mirrored ? "backup=c0d0:2 " : "";

    /// <summary>A fault argument's tail that keeps the fault to the primary when there is a mirror.</summary>
    private static string OnPrimary(bool mirrored) => mirrored ? ",minor=1" : "";

    /// <summary>One blkclient operation: its result and, for a read, the SHA-1 of what it got.</summary>
    private (long Result, string Sha1) Op(int type, long position, long length, long c)
    {
        var answer = Puppet.Await(Rs.Client.AskAsync($"sendrec3 {_client} {type} {position} {length} {c}"), 120_000);
        Assert.True(Puppet.Field(answer, 1) == "OK" && Puppet.Field(answer, 3) == "0", answer);
        string what = type == Read ? "read" : "write";
        var w = Rs.Sys.Console.Lines.Last(l => l.Contains($"blkclient: {what} {position} {length} -> ", StringComparison.Ordinal)).Split(' ');
        return (Puppet.LongField(answer, 4), w[Array.IndexOf(w, "sha1") + 1]);
    }

    private long WriteSeeded(long position, long length, int seed) => Op(Write, position, length, Chunk | ((long)seed << 32)).Result;

    private (long Result, string Sha1) ReadRange(long position, long length) => Op(Read, position, length, Chunk);

    /// <summary>Reads [position, +length) through the filter and asserts it is the pattern of <paramref name="seed"/>.</summary>
    private void AssertReadsRight(long position, long length, int seed) =>
        Assert.Equal((length, BlockKit.PatternSha1(position, length, seed)), ReadRange(position, length));

    private static string ZerosSha1(int length)
    {
        using var sha1 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA1);
        sha1.AppendData(new byte[length]);
        return Convert.ToHexString(sha1.GetHashAndReset());
    }

    /// <summary>Writes the first MiB with the pattern of <paramref name="seed"/> and reads it back right.</summary>
    private void WriteAndReadBack(int seed)
    {
        Assert.Equal(Mib, WriteSeeded(0, Mib, seed));
        AssertReadsRight(0, Mib, seed);
    }

    /// <summary>Console lines that contain every one of <paramref name="parts"/>.</summary>
    private int Said(params string[] parts) => Rs.Sys.Console.Lines.Count(l => parts.All(p => l.Contains(p, StringComparison.Ordinal)));

    /// <summary>Waits for the filter's status line (logged at a heartbeat when it changed,
    /// FilterDevice.Status) to hold every one of <paramref name="counts"/> ("key=value").</summary>
    private void AssertStatus(params string[] counts)
    {
        string Last() => Rs.Sys.Console.Lines.LastOrDefault(l => l.Contains("filter: filter: status ", StringComparison.Ordinal)) ?? "";
        TestSystem.WaitUntil(() => counts.All(c => Last().Split(' ').Contains(c)), $"the filter's status to say {string.Join(' ', counts)}; last: {Last()}", 10_000);
    }

    /// <summary>Reads the filter found bad on <paramref name="member"/> (a sector failing its checksum, or a damaged checksum sector).</summary>
    private int Detected(string member) =>
        Said($"filter: filter: {member}: ", "fails its checksum") + Said($"filter: filter: {member}: ", "is damaged") + Said($"filter: filter: {member}: ", "reads as zeros");

    /// <summary>True when every data sector of virtual [position, +length) in the partition at
    /// <paramref name="partition"/> holds the pattern of <paramref name="seed"/> on the image.</summary>
    private bool ImageHolds(long partition, long position, long length, int seed)
    {
        for (long v = position / Sector; v < (position + length) / Sector; v++)
        {
            long s = partition + Layout.DataSector(v);
            if (!Image.Bytes(s * Sector, Sector).AsSpan().SequenceEqual(BlockKit.DiskPattern(v * Sector, Sector, seed))) return false;
        }
        return true;
    }

    /// <summary>How many of <paramref name="ops"/> operations a fault every <paramref name="every"/>
    /// requests hits, <paramref name="counted"/> requests counted before: each attempt sends
    /// <paramref name="perAttempt"/> counted requests, and one whose first request is hit is
    /// detected and tried again (what the filter must do).</summary>
    private static int Hits(ref long counted, int ops, int perAttempt, int every)
    {
        int hits = 0;
        for (int op = 0; op < ops; op++)
        {
            bool hit;
            do
            {
                hit = false;
                for (int k = 1; k <= perAttempt; k++) hit |= (counted + k) % every == 0;
                counted += perAttempt;
                if (hit) hits++;
            }
            while (hit);
        }
        return hits;
    }

    // ---- flip: bit flips in read data ----

    [Fact]
    public void Flip_Mirrored_EveryFlipDetected_ServedFromTheMirrorAndRepaired()
    {
        Boot("primary=c0d0:1 backup=c0d0:2 checksum=16 complaints=0", "fault=flip,every=3,minor=1");
        Assert.Equal(Mib, WriteSeeded(0, Mib, 5));
        // Whole groups are written without a read: the primary's reads are the 16 chunks of
        // each pass, every third of them flipped (a flipped read goes to the mirror, not again).
        AssertReadsRight(0, Mib, 5);
        AssertReadsRight(0, Mib, 5);
        Assert.Equal(1, Said("c0d0: injecting fault flip every 3 on minor 1"));
        // 1 + 32 reads of the primary: the filter's start-up read of group 0, then the passes.
        Assert.Equal(33 / 3, Detected("c0d0:1"));
        Assert.Equal(33 / 3, Said("filter: filter: c0d0:1: sectors ", "repaired from c0d0:2"));
        Assert.Equal(0, Detected("c0d0:2"));
        Assert.True(ImageHolds(Part1, 0, Mib, 5) && ImageHolds(Part2, 0, Mib, 5));
    }

    [Fact]
    public void Flip_UnmirroredEveryRead_EIO_NeverWrongData()
    {
        Boot("primary=c0d0:1 checksum=16 retries=3 complaints=0", "fault=flip");
        Assert.Equal(Mib, WriteSeeded(0, Mib, 6));
        // Reads of whole groups: every sector the filter reads is one it checks.
        (long Position, long Length)[] reads = [(0, Chunk), (3 * Chunk, Chunk), (96 * Sector, 8192), (Mib - Sector, Sector)];
        foreach (var (position, length) in reads) Assert.Equal(Err.EIO, ReadRange(position, length).Result);
        // Each read tried three times, each attempt flipped and each flip found.
        Assert.Equal(reads.Length * 3, Detected("c0d0:1"));
        Assert.Equal(reads.Length, Said("filter: filter: read of virtual sectors ", ": 3 attempts failed: EIO"));
        AssertStatus($"failed={reads.Length}", $"bad-checksums={reads.Length * 3}", "receive-timeouts=0", "requests-failed=0");
        // A read of part of a group also reads the sectors up to the group's checksum sector; a
        // bit flipped there touches nothing returned. EIO or the right data, never wrong data.
        var (got, sha) = ReadRange(100 * Sector, 4096);
        Assert.True(got == Err.EIO || (got, sha) == (4096, BlockKit.PatternSha1(100 * Sector, 4096, 6)), $"{got} {sha}");
        Assert.True(ImageHolds(Part1, 0, Mib, 6)); // the medium keeps its data
    }

    [Fact]
    public void Flip_UnmirroredEveryThirdRead_RetriesFindAGoodRead()
    {
        Boot("primary=c0d0:1 checksum=16 retries=3 complaints=0", "fault=flip,every=3");
        WriteAndReadBack(7);
        long counted = 1; // the filter's start-up look at group 0's checksum sector
        Assert.Equal(Hits(ref counted, 16, 1, 3), Detected("c0d0:1"));
        Assert.Equal(0, Said("filter: filter: read of virtual sectors "));
        Assert.True(ImageHolds(Part1, 0, Mib, 7));
    }

    // ---- fail: EIO answers ----

    [Fact]
    public void Fail_UnmirroredEverySecond_Retried_RightData()
    {
        Boot("primary=c0d0:1 checksum=16 complaints=0", "fault=fail,every=2");
        WriteAndReadBack(8);
        // The filter's BlockClient sends a request answered EIO again, to an instance whose next
        // request is spared: each hit is mended below the filter, which sees no failure.
        Assert.Equal(1, Said("c0d0: injecting fault fail every 2 on every minor"));
        Assert.Equal(0, Said("filter: filter: c0d0:1: "));
        Assert.True(ImageHolds(Part1, 0, Mib, 8));
    }

    [Fact]
    public void Fail_MirroredPrimaryFailsEverything_ServedFromTheMirror()
    {
        // outage=1000: the primary stays in service, so every operation tries it first.
        Boot("primary=c0d0:1 backup=c0d0:2 checksum=16 complaints=0 outage=1000", "fault=fail,minor=1");
        WriteAndReadBack(9);
        // 16 chunk reads and the filter's start-up read of group 0 (the filter logs only its first 50 failures).
        Assert.Equal(17, Said("filter: blockclient: c0d0 minor 1: request 3 at ", "failed 2 times: EIO"));
        Assert.Equal(0, Said("filter: filter: c0d0:2: "));
        Assert.True(ImageHolds(Part2, 0, Mib, 9));
        Assert.False(ImageHolds(Part1, 0, Chunk, 9)); // no write reached the primary
    }

    // ---- noop and misdirect writes ----

    [Theory]
    [InlineData("noop", false)]
    [InlineData("noop", true)]
    [InlineData("misdirect", false)]
    [InlineData("misdirect", true)]
    public void Verify_WritesLostOrLandingOff_FoundByTheReadBackAndRetried(string kind, bool mirrored)
    {
        Boot($"primary=c0d0:1 {Backup(mirrored)}checksum=16 verify complaints=0", $"fault={kind},every=3{OnPrimary(mirrored)}");
        Assert.Equal(Mib, WriteSeeded(0, Mib, 10));
        // An attempt is a write and its read-back, both counted by noop, the write alone by
        // misdirect. A hit on either is found by the read-back (a noop'd read-back reads as
        // zeros, never as what was just written: BlockClient clears its buffer before a read),
        // and the attempt is made again. Every hit found: the image holds it all.
        bool noop = kind == "noop";
        long counted = noop ? 1 : 0; // the filter's start-up read of group 0's checksum sector
        Assert.Equal(Hits(ref counted, 16, noop ? 2 : 1, 3), Said("filter: filter: c0d0:1: ", "read back differ from what was written"));
        Assert.True(ImageHolds(Part1, 0, Mib, 10));
        if (mirrored) Assert.True(ImageHolds(Part2, 0, Mib, 10));
        // A noop'd read reads as zeros: it fails its checksum.
        AssertReadsRight(0, Mib, 10);
        if (!noop) Assert.Equal(0, Detected("c0d0:1"));
        else if (mirrored) Assert.True(Detected("c0d0:1") > 0 && Detected("c0d0:1") == Said("repaired from c0d0:2"));
        else Assert.Equal(Hits(ref counted, 16, 1, 3), Detected("c0d0:1"));
        Assert.Equal((Chunk, ZerosSha1(Chunk)), ReadRange(Mib, Chunk)); // past the written range: never written
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Misdirect_NoVerify_DamageFoundWhenRead_RepairedOrEIO(bool mirrored)
    {
        Boot($"primary=c0d0:1 {Backup(mirrored)}checksum=16 complaints=0", $"fault=misdirect,every=3{OnPrimary(mirrored)}");
        // The third write (B) lands one sector on: its first sector keeps the old zeros, the
        // rest is shifted, and its last sector lands on the next group's first data sector (N).
        const long A = 0, C = 4 * Mib, B = Chunk, N = 2 * Chunk;
        Assert.Equal(Chunk, WriteSeeded(A, Chunk, 12));
        Assert.Equal(Chunk, WriteSeeded(C, Chunk, 12));
        Assert.Equal(Chunk, WriteSeeded(B, Chunk, 12));
        Assert.False(ImageHolds(Part1, B, Chunk, 12)); // the damage is real
        AssertReadsRight(A, Chunk, 12);
        AssertReadsRight(C, Chunk, 12);
        if (mirrored)
        {
            AssertReadsRight(B, Chunk, 12);
            Assert.Equal(((long)Sector, ZerosSha1(Sector)), ReadRange(N, Sector));
            Assert.Equal(2, Said("repaired from c0d0:2"));
            // The primary is whole again where it was read: the image's two copies agree.
            long physical = Layout.ChecksumSector(N / Sector) + 1;
            Assert.Equal(Image.Bytes(Part2 * Sector, (int)physical * Sector), Image.Bytes(Part1 * Sector, (int)physical * Sector));
            Assert.True(ImageHolds(Part1, B, Chunk, 12) && ImageHolds(Part2, B, Chunk, 12));
        }
        else
        {
            Assert.Equal(Err.EIO, ReadRange(B, Chunk).Result);
            Assert.Equal(Err.EIO, ReadRange(N, Sector).Result);
            Assert.Equal(Err.EIO, ReadRange(B, Sector).Result); // the zeros left where B's first sector belongs
        }
        Assert.Equal(mirrored ? 2 : 9, Detected("c0d0:1"));
        Assert.True(ImageHolds(Part1, A, Chunk, 12) && ImageHolds(Part1, C, Chunk, 12));
    }

    // ---- hang: no answer ----

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hang_TimedOut_DriverRestarted_RequestReissued_RightData(bool mirrored)
    {
        Boot($"primary=c0d0:1 {Backup(mirrored)}checksum=16 timeout=500", $"fault=hang,every=3{OnPrimary(mirrored)}");
        const long Length = 4 * Chunk;
        Assert.Equal(Length, WriteSeeded(0, Length, 13));
        AssertReadsRight(0, Length, 13);
        // The start-up look at group 0, then eight chunk requests to the primary; each instance
        // of at_wini drops its third, and the one sent again after a restart is the new
        // instance's first: four hang.
        Assert.Equal(4, Said("filter: blockclient: c0d0 (", "failed: no answer within 500 ms; complained to RS"));
        Assert.Equal(4, Said("rs: complaint from filter about c0d0"));
        Assert.Equal(0, Said("filter: filter: c0d0:1: ")); // the filter's client hid every hang
        AssertStatus("failed=0", "receive-timeouts=4", "restarts=4", "complaints=4", "bad-checksums=0");
        Assert.True(ImageHolds(Part1, 0, Length, 13));
        if (mirrored) Assert.True(ImageHolds(Part2, 0, Length, 13));
    }

    // ---- a mirrored device that keeps failing; complaints ----

    [Fact]
    public void KeepsFailing_TakenOutOfServiceAfterOutageOperations_TheMirrorGoesOn()
    {
        Boot("primary=c0d0:1 backup=c0d0:2 checksum=16 complaints=0 outage=3", "fault=fail,minor=1");
        // Three write operations fail on the primary (each tried `retries` times); the third
        // takes it out of service, and nothing is sent to it after that.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(0, Said("taken out of service"));
            Assert.Equal(Chunk, WriteSeeded(i * Chunk, Chunk, 14));
        }
        Assert.Equal(1, Said("filter: filter: c0d0:1 taken out of service after 3 failed operations in a row; going on with c0d0:2"));
        int primaryLines = Said("filter: filter: c0d0:1: ");
        Assert.Equal(Mib - 3 * Chunk, WriteSeeded(3 * Chunk, Mib - 3 * Chunk, 14));
        AssertReadsRight(0, Mib, 14);
        Assert.Equal(primaryLines, Said("filter: filter: c0d0:1: "));
        Assert.True(ImageHolds(Part2, 0, Mib, 14));
        // A restarted filter keeps it out (DS): the primary's copy is stale.
        int old = RsKit.Ep(Rs.Row("filter"));
        Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(old, 9));
        TestSystem.WaitUntil(() => Rs.Row("filter") is { Length: > 2 } r && r[2] == "running" && RsKit.Ep(r) != old, "the filter restarted", 30_000);
        Assert.Equal(1, Said("filter: filter: c0d0:1 stays out of service (taken out earlier in this boot)"));
        // blkclient tries each request once (attempts=1): its first finds the dead instance.
        var (first, sha) = ReadRange(0, Mib);
        Assert.True(first == Err.EIO || (first, sha) == (Mib, BlockKit.PatternSha1(0, Mib, 14)), $"{first} {sha}");
        AssertReadsRight(0, Mib, 14);
        Assert.Equal(primaryLines, Said("filter: filter: c0d0:1: "));
    }

    [Theory]
    [InlineData("operation", 4)]
    [InlineData("lifetime", 2)]
    public void Complaints_AtMostM_ThenEIO(string scope, int afterTwoReads)
    {
        Boot($"primary=c0d0:1 checksum=16 retries=4 complaints=2 scope={scope}", "fault=fail");
        Assert.Equal(Err.EIO, ReadRange(0, Chunk).Result);
        Assert.Equal(2, Said("filter: filter: c0d0:1: ", "complained to RS"));
        Assert.Equal(2, Said("rs: complaint from filter about c0d0"));
        // Thesis §4.4: N retries on each of the M + 1 driver instances, then EIO.
        Assert.Equal(12, Said("filter: filter: c0d0:1: read of sector ", "failed: EIO"));
        Assert.Equal(1, Said("filter: filter: read of virtual sectors ", ": 12 attempts failed: EIO"));
        Assert.Equal(Err.EIO, ReadRange(Chunk, Sector).Result);
        Assert.Equal(afterTwoReads, Said("rs: complaint from filter about c0d0"));
        Assert.Equal(afterTwoReads, Said("filter: filter: c0d0:1: ", "complained to RS"));
        // Over the lifetime the complaints are spent: the second read has one instance's retries.
        Assert.Equal(scope == "operation" ? 24 : 16, Said("filter: filter: c0d0:1: read of sector ", "failed: EIO"));
        Assert.Equal(2, Said("filter: filter: read of virtual sectors ", "attempts failed: EIO"));
    }
}
