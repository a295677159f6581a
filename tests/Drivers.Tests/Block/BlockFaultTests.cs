// Block drivers that misbehave on purpose (src/Drivers/Block/BlockFaults.cs; docs/block.md,
// "Misbehaving on purpose"): the `fault=` argument parsed on its own, then each kind shown to
// happen on the memory driver's RAM disks — noop (OK, nothing moved), misdirect (the write one
// sector off), flip (one bit of a read, the disk itself intact), fail (EIO), hang (no answer,
// while the driver goes on serving and answering RS) — with `every=N` hitting exactly every Nth
// request it applies to and `minor=M` leaving the other minors alone; flip and misdirect on
// at_wini with the image file as the oracle; and a bad argument: the driver exits with status 2
// before it ever runs. A flipped bit is found by trying every bit of the expected data against
// the SHA-256 the puppet reports, so the tests do not depend on where the driver puts it.
using Bulkhead.Drivers.Block;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class BlockFaultTests : IDisposable
{
    private const int Ram0 = 7, Ram1 = 8, RamSize = 1 << 20;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bulkhead-faults-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
    private readonly Board _board = new();
    private DiskImage? _image;
    private RsSystem? _rs;

    public BlockFaultTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        File.Delete(_path);
    }

    private RsSystem Rs => _rs!;

    // ---- the argument alone ----

    [Theory]
    [InlineData("fault=flip", BlockFaults.Kind.Flip, 1, -1, "flip on every minor")]
    [InlineData("fault=misdirect,every=3", BlockFaults.Kind.Misdirect, 3, -1, "misdirect every 3 on every minor")]
    [InlineData("fault=hang,minor=1,every=1000000", BlockFaults.Kind.Hang, 1_000_000, 1, "hang every 1000000 on minor 1")]
    [InlineData("fault=noop,minor=0", BlockFaults.Kind.Noop, 1, 0, "noop on minor 0")]
    [InlineData("fault=fail,every=1,minor=63", BlockFaults.Kind.Fail, 1, 63, "fail on minor 63")]
    public void TryParse_WellFormed_GivesKindEveryAndMinor(string arg, BlockFaults.Kind kind, int every, int minor, string said)
    {
        Assert.True(BlockFaults.IsArgument(arg));
        Assert.True(BlockFaults.TryParse(arg, out var plan, out string error), error);
        Assert.Equal((kind, every, minor, said), (plan.What, plan.Every, plan.Minor, plan.ToString()));
        Assert.Equal((0, 0), (plan.Counted, plan.Applied));
    }

    [Theory]
    [InlineData("fault=bogus", "unknown kind 'bogus'")]
    [InlineData("fault=", "unknown kind ''")]
    [InlineData("fault=Flip", "unknown kind 'Flip'")]
    [InlineData("fault=flip,every=0", "every must be 1..1000000")]
    [InlineData("fault=flip,every=1000001", "every must be 1..1000000")]
    [InlineData("fault=flip,every=+3", "every must be 1..1000000")]
    [InlineData("fault=flip,every=", "every must be 1..1000000")]
    [InlineData("fault=flip,every=2,every=3", "every given twice")]
    [InlineData("fault=flip,minor=64", "minor must be 0..63")]
    [InlineData("fault=flip,minor=-1", "minor must be 0..63")]
    [InlineData("fault=flip,minor=1,minor=2", "minor given twice")]
    [InlineData("fault=flip,every", "unknown option 'every'")]
    [InlineData("fault=flip,colour=red", "unknown option 'colour=red'")]
    [InlineData("fault=flip,", "unknown option ''")]
    public void TryParse_Malformed_IsAnErrorNamingTheArgument(string arg, string what)
    {
        Assert.False(BlockFaults.TryParse(arg, out var plan, out string error));
        Assert.Null(plan);
        Assert.StartsWith($"bad argument '{arg}': {what} (want fault=KIND", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_EveryAndMinor_HitExactlyEveryNthRequestItAppliesTo()
    {
        Assert.True(BlockFaults.TryParse("fault=flip,every=3,minor=1", out var flip, out _));
        var hits = new List<int>();
        for (int i = 1; i <= 9; i++)
        {
            Assert.Equal(BlockFaults.Kind.None, flip.Next(minor: 2, write: false)); // another minor
            Assert.Equal(BlockFaults.Kind.None, flip.Next(minor: 1, write: true));  // a flip spares writes
            if (flip.Next(minor: 1, write: false) == BlockFaults.Kind.Flip) hits.Add(i);
        }
        Assert.Equal([3, 6, 9], hits);
        Assert.Equal((9, 3), (flip.Counted, flip.Applied));

        Assert.True(BlockFaults.TryParse("fault=misdirect,every=2", out var misdirect, out _));
        Assert.Equal(BlockFaults.Kind.None, misdirect.Next(0, write: false)); // reads are not counted
        Assert.Equal(BlockFaults.Kind.None, misdirect.Next(0, write: true));
        Assert.Equal(BlockFaults.Kind.Misdirect, misdirect.Next(4, write: true));
        Assert.True(BlockFaults.TryParse("fault=fail", out var fail, out _));
        Assert.Equal((BlockFaults.Kind.Fail, BlockFaults.Kind.Fail), (fail.Next(0, write: false), fail.Next(5, write: true)));
    }

    [Fact]
    public void Misdirect_OneSectorOn_OrOneBackAtTheEnd()
    {
        Assert.Equal(512, BlockFaults.Misdirect(0, 4096, RamSize, 512));
        Assert.Equal(RamSize - 4096 - 512, BlockFaults.Misdirect(RamSize - 4096, 4096, RamSize, 512));
        Assert.Equal(RamSize - 4096, BlockFaults.Misdirect(RamSize - 8192, 4096, RamSize, 4096));
        Assert.Equal(0, BlockFaults.Misdirect(0, RamSize, RamSize, 512)); // the whole minor: nowhere else
    }

    [Fact]
    public void Flip_MovesFromHitToHit_InsideTheData()
    {
        Assert.True(BlockFaults.TryParse("fault=flip", out var plan, out _));
        var seen = new HashSet<(long, int)>();
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(BlockFaults.Kind.Flip, plan.Next(0, write: false));
            var (at, bit) = plan.Flip(4096);
            Assert.InRange(at, 0, 4095);
            Assert.InRange(bit, 0, 7);
            seen.Add((at, bit));
        }
        Assert.Equal(16, seen.Count);
    }

    // ---- the memory driver ----

    /// <summary>The memory driver under RS with <paramref name="args"/>, its RAM disks 0 and 1
    /// (minors 7 and 8) opened and RamSize bytes each (neither is counted); its endpoint.</summary>
    private int UpMemory(string args, string extra = "")
    {
        _rs = new RsSystem(_output);
        var up = Rs.Manager.Ask($"rs-spec up label=memory;binary={RsSystem.Image};args=memory {args};policy=memory{extra}");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState("memory", "running");
        int ep = RsKit.Ep(Rs.Row("memory"));
        foreach (int minor in new[] { Ram0, Ram1 })
        {
            Rs.Client.Blk($"open {ep} {minor} 3").Is("OK");
            Rs.Client.Blk($"ioctl {ep} {minor} {BlockDriverCall.IoctlRamSize} {RamSize}").Is("OK");
        }
        return ep;
    }

    private int Said(string line) => Rs.Sys.Console.Lines.Count(l => l.Contains(line, StringComparison.Ordinal));

    [Fact]
    public void Noop_OnMemory_AnswersFullCounts_AndMovesNothing_EverySecondRequest()
    {
        int ep = UpMemory("fault=noop,every=2,minor=7");
        var c = Rs.Client;
        string first = BlockKit.Sha(BlockKit.Pattern(65536, 1)), second = BlockKit.Sha(BlockKit.Pattern(65536, 2)), zeros = BlockKit.Sha(new byte[65536]);
        c.Blk($"write {ep} {Ram0} 0 65536 1").Is("OK");                                       // 1: lands
        Assert.Equal(65536, c.Blk($"write {ep} {Ram0} 0 65536 2").Is("OK").Count);            // 2: "written", lost
        c.Blk($"flush {ep} {Ram0}").Is("OK");                                                 // not a data request
        Assert.Equal(first, c.Blk($"read {ep} {Ram0} 0 65536").Is("OK").Sha);                 // 3: what 1 wrote
        var empty = c.Blk($"read {ep} {Ram0} 0 65536").Is("OK");                              // 4: nothing copied
        Assert.Equal((65536, zeros), (empty.Count, empty.Sha));
        Assert.Equal(first, c.Blk($"read {ep} {Ram0} 0 65536").Is("OK").Sha);                 // 5
        // Another minor is left alone.
        for (int i = 0; i < 2; i++)
        {
            c.Blk($"write {ep} {Ram1} 0 65536 2").Is("OK");
            Assert.Equal(second, c.Blk($"read {ep} {Ram1} 0 65536").Is("OK").Sha);
        }
        Assert.Equal(1, Said("memory: injecting fault noop every 2 on minor 7 (test mode)"));
    }

    [Fact]
    public void Misdirect_OnMemory_PutsWritesOneSectorOff_AndLeavesReadsAndOtherMinors()
    {
        int ep = UpMemory("fault=misdirect,minor=7");
        var c = Rs.Client;
        string data = BlockKit.Sha(BlockKit.Pattern(4096, 3)), sector = BlockKit.Sha(new byte[512]);
        var w = c.Blk($"write {ep} {Ram0} 4096 4096 3").Is("OK");
        Assert.Equal((4096, data), (w.Count, w.Sha));
        Assert.Equal(data, c.Blk($"read {ep} {Ram0} 4608 4096").Is("OK").Sha);    // one sector on
        Assert.Equal(sector, c.Blk($"read {ep} {Ram0} 4096 512").Is("OK").Sha);    // where it belonged: untouched
        // At the end of the minor it lands one sector earlier.
        c.Blk($"write {ep} {Ram0} {RamSize - 4096} 4096 4").Is("OK");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(4096, 4)), c.Blk($"read {ep} {Ram0} {RamSize - 4608} 4096").Is("OK").Sha);
        Assert.Equal(sector, c.Blk($"read {ep} {Ram0} {RamSize - 512} 512").Is("OK").Sha);
        // A Scatter is a write too.
        c.Blk($"scatter {ep} {Ram0} 65536 512,1024 9").Is("OK");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(1536, 9)), c.Blk($"read {ep} {Ram0} 66048 1536").Is("OK").Sha);
        // Minor 8 keeps its writes where they were asked.
        c.Blk($"write {ep} {Ram1} 4096 4096 3").Is("OK");
        Assert.Equal(data, c.Blk($"read {ep} {Ram1} 4096 4096").Is("OK").Sha);
        Assert.Equal(1, Said("memory: injecting fault misdirect on minor 7 (test mode)"));
    }

    [Fact]
    public void Flip_OnMemory_FlipsOneBitOfEverySecondRead_AndTheDiskKeepsItsData()
    {
        int ep = UpMemory("fault=flip,every=2,minor=7");
        var c = Rs.Client;
        var data = BlockKit.Pattern(1024, 4);
        c.Blk($"write {ep} {Ram0} 0 1024 4").Is("OK");                                // writes are not counted
        Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} {Ram0} 0 1024").Is("OK").Sha);   // 1
        var one = FlippedBit(data, c.Blk($"read {ep} {Ram0} 0 1024").Is("OK").Sha);         // 2
        Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} {Ram0} 0 1024").Is("OK").Sha);   // 3
        var two = FlippedBit(data, c.Blk($"read {ep} {Ram0} 0 1024").Is("OK").Sha);         // 4
        Assert.NotEqual(one, two);
        _output.WriteLine($"flipped {one} then {two}");

        // A read of several staging buffers: the chunk holding the bit goes through the staging
        // buffer, the others straight from the disk; the disk itself keeps what was written.
        string big = c.Blk($"write {ep} {Ram0} 65536 {256 * 1024} 5").Is("OK").Sha;
        Assert.Equal(big, c.Blk($"read {ep} {Ram0} 65536 {256 * 1024}").Is("OK").Sha);       // 5
        Assert.NotEqual(big, c.Blk($"read {ep} {Ram0} 65536 {256 * 1024}").Is("OK").Sha);    // 6
        Assert.Equal(big, c.Blk($"read {ep} {Ram0} 65536 {256 * 1024}").Is("OK").Sha);       // 7
        FlippedBit(data, c.Blk($"gather {ep} {Ram0} 0 512,512").Is("OK").Sha);               // 8: a Gather is a read

        c.Blk($"write {ep} {Ram1} 0 1024 4").Is("OK");
        for (int i = 0; i < 3; i++) Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} {Ram1} 0 1024").Is("OK").Sha);
        Assert.Equal(1, Said("memory: injecting fault flip every 2 on minor 7 (test mode)"));
    }

    [Fact]
    public void Fail_OnMemory_AnswersEveryThirdDataRequestEio_WithoutTouchingTheDisk()
    {
        int ep = UpMemory("fault=fail,every=3");
        var c = Rs.Client;
        string five = BlockKit.Sha(BlockKit.Pattern(4096, 5)), six = BlockKit.Sha(BlockKit.Pattern(4096, 6));
        c.Blk($"write {ep} {Ram0} 0 4096 5").Is("OK");                         // 1
        Assert.Equal(five, c.Blk($"read {ep} {Ram0} 0 4096").Is("OK").Sha);    // 2
        Assert.Equal(0, c.Blk($"read {ep} {Ram0} 0 4096").Is("EIO").Count);   // 3
        c.Blk($"flush {ep} {Ram0}").Is("OK");                                   // not counted
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlGeometry} 0").Is("OK"); // not counted
        c.Blk($"write {ep} {Ram0} 0 4096 6").Is("OK");                         // 4
        Assert.Equal(six, c.Blk($"read {ep} {Ram0} 0 4096").Is("OK").Sha);     // 5
        c.Blk($"write {ep} {Ram0} 0 4096 7").Is("EIO");                        // 6: never reached the disk
        Assert.Equal(six, c.Blk($"read {ep} {Ram0} 0 4096").Is("OK").Sha);     // 7
        Assert.Equal(six, c.Blk($"gather {ep} {Ram0} 0 1024,3072").Is("OK").Sha); // 8
        c.Blk($"scatter {ep} {Ram0} 0 1024,3072 7").Is("EIO");                 // 9
        Assert.Equal(six, c.Blk($"read {ep} {Ram0} 0 4096").Is("OK").Sha);     // 10
        Assert.Equal(1, Said("memory: injecting fault fail every 3 on every minor (test mode)"));
        Assert.Equal(ep, RsKit.Ep(Rs.Row("memory")));
    }

    [Fact]
    public void Hang_OnMemory_DropsEverySecondRequest_WhileTheDriverServesOthersAndAnswersRs()
    {
        int ep = UpMemory("fault=hang,every=2,minor=7", ";period=300");
        var c = Rs.Client;
        var other = Rs.Manager;
        string data = BlockKit.Sha(BlockKit.Pattern(4096, 1));
        c.Blk($"write {ep} {Ram0} 0 4096 1").Is("OK");                                // 1
        var dropped = c.AskAsync($"blk read {ep} {Ram0} 0 4096");                     // 2: never answered
        Assert.False(dropped.Wait(1500), "the dropped request was answered: " + (dropped.IsCompleted ? dropped.Result : ""));
        Assert.Equal(data, other.Blk($"read {ep} {Ram0} 0 4096").Is("OK").Sha);      // 3: the next one is
        other.Blk($"write {ep} {Ram1} 0 4096 1").Is("OK");                            // another minor: not counted
        Assert.Equal(data, other.Blk($"read {ep} {Ram1} 0 4096").Is("OK").Sha);
        // Five heartbeat periods went by with the request dropped: the driver answered RS
        // throughout and is the same instance.
        var row = Rs.Row("memory");
        Assert.Equal((ep, "running", 0), (RsKit.Ep(row), row[2], RsKit.Restarts(row)));
        Assert.False(dropped.IsCompleted);
        Assert.Equal(1, Said("memory: injecting fault hang every 2 on minor 7 (test mode)"));

        // Only the driver's death ends the client's wait.
        Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(ep, 9));
        Assert.Equal("EDEADSRCDST", new BlkAnswer(Puppet.Await(dropped)).Ipc);
    }

    [Theory]
    [InlineData("fault=bogus", "unknown kind 'bogus'")]
    [InlineData("fault=flip,every=0", "every must be 1..1000000")]
    public void BadArgument_OnMemory_TheDriverSaysSoAndExitsWithStatus2(string arg, string what)
    {
        _rs = new RsSystem(_output, "max_failures=2");
        var up = Rs.Manager.Ask($"rs-spec up label=memory;binary={RsSystem.Image};args=memory {arg};policy=memory");
        Assert.True(Puppet.Field(up, 1) == "OK", up);
        TestSystem.WaitUntil(() => Rs.Sys.Console.Has("rs: memory failed: exit status 2"), "memory exits");
        Assert.True(Rs.Sys.Console.Has($"memory: bad argument '{arg}': {what} (want fault=KIND[,every=N][,minor=M]"), Rs.Console());
        Assert.Equal("0", Rs.Row("memory")[3]); // no instance ever finished initialization
        Assert.False(Rs.Sys.Console.Has("injecting fault"));
    }

    // ---- at_wini ----

    /// <summary>A machine with a 64 MiB ATA disk (holding <paramref name="sector0"/>, if any) and
    /// RS; at_wini not started yet.</summary>
    private void BootAtWini(byte[]? sector0 = null)
    {
        _image = DiskImage.Open(_path, 64L << 20);
        if (sector0 is not null) Assert.True(_image.Write(0, sector0));
        _rs = new RsSystem(_output, _board, kernel => BlockKit.PlugAta(_board, _image, kernel), "max_failures=2");
    }

    private string StartAtWini(string args) =>
        Rs.Manager.Ask($"rs-spec up label=c0d0;binary={RsSystem.Image};args=at_wini {args};policy=at_wini");

    private int UpAtWini(string args)
    {
        var up = StartAtWini(args);
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState("c0d0", "running");
        return RsKit.Ep(Rs.Row("c0d0"));
    }

    [Fact]
    public void Flip_OnAtWini_FlipsEveryThirdReadOfItsMinor_AndTheDiskKeepsItsData()
    {
        const long Partition = 2048L * 512;
        BootAtWini(BlockKit.Mbr((0x00, 0x83, 2048, 4096)));
        int ep = UpAtWini("fault=flip,every=3,minor=1");
        var c = Rs.Client;
        var data = BlockKit.Pattern(1024, 21);
        Assert.True(_image!.Write(Partition + 4096, data));
        c.Blk($"open {ep} 0 3").Is("OK");
        c.Blk($"open {ep} 1 3").Is("OK");
        for (int i = 0; i < 4; i++) // the whole disk, minor 0, is left alone
            Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} 0 {Partition + 4096} 1024").Is("OK").Sha);
        var flips = new List<(int, int)>();
        for (int i = 1; i <= 6; i++)
        {
            string got = c.Blk($"read {ep} 1 4096 1024").Is("OK").Sha;
            if (i % 3 == 0) flips.Add(FlippedBit(data, got));
            else Assert.Equal(BlockKit.Sha(data), got);
        }
        Assert.NotEqual(flips[0], flips[1]);
        _output.WriteLine($"flipped {flips[0]} then {flips[1]}");
        Assert.Equal(BlockKit.Sha(data), BlockKit.Sha(_image!.Bytes(Partition + 4096, 1024))); // the medium is intact
        // Writes are not touched, and not counted.
        var w = c.Blk($"write {ep} 1 8192 1024 22").Is("OK");
        Assert.Equal(w.Sha, BlockKit.Sha(_image!.Bytes(Partition + 8192, 1024)));
        Assert.Equal(1, Said("c0d0: injecting fault flip every 3 on minor 1 (test mode)"));
    }

    [Fact]
    public void Misdirect_OnAtWini_WritesLandOneSectorOff_OnTheImage()
    {
        BootAtWini();
        int ep = UpAtWini("fault=misdirect");
        var c = Rs.Client;
        c.Blk($"open {ep} 0 3").Is("OK");
        var data = BlockKit.Pattern(4096, 8);
        Assert.Equal(4096, c.Blk($"write {ep} 0 {1L << 20} 4096 8").Is("OK").Count);
        Assert.Equal(BlockKit.Sha(data), BlockKit.Sha(_image!.Bytes((1L << 20) + 512, 4096)));
        Assert.Equal(BlockKit.Sha(new byte[512]), BlockKit.Sha(_image!.Bytes(1L << 20, 512)));
        Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} 0 {(1L << 20) + 512} 4096").Is("OK").Sha); // reads are not touched
        // The last sectors of the disk: one sector earlier.
        const long End = 64L << 20;
        c.Blk($"write {ep} 0 {End - 4096} 4096 9").Is("OK");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(4096, 9)), BlockKit.Sha(_image!.Bytes(End - 4608, 4096)));
        Assert.Equal(BlockKit.Sha(new byte[512]), BlockKit.Sha(_image!.Bytes(End - 512, 512)));
        Assert.Equal(1, Said("c0d0: injecting fault misdirect on every minor (test mode)"));
    }

    [Fact]
    public void BadArgument_OnAtWini_TheDriverSaysSoAndExitsWithStatus2()
    {
        BootAtWini();
        Assert.Equal("OK", Puppet.Field(StartAtWini("fault=flip,every=0"), 1));
        TestSystem.WaitUntil(() => Rs.Sys.Console.Has("rs: c0d0 failed: exit status 2"), "at_wini exits");
        Assert.True(Rs.Sys.Console.Has("at_wini: bad argument 'fault=flip,every=0': every must be 1..1000000"), Rs.Console());
        Assert.Equal("0", Rs.Row("c0d0")[3]);
    }

    /// <summary>The one bit (byte, bit) whose flip in <paramref name="data"/> gives <paramref name="sha"/>;
    /// fails when the data differs in none, or in more than one bit.</summary>
    private static (int Byte, int Bit) FlippedBit(byte[] data, string sha)
    {
        Assert.NotEqual(BlockKit.Sha(data), sha);
        var copy = (byte[])data.Clone();
        for (int i = 0; i < copy.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                copy[i] ^= (byte)(1 << bit);
                if (BlockKit.Sha(copy) == sha) return (i, bit);
                copy[i] ^= (byte)(1 << bit);
            }
        }
        Assert.Fail("the read differs from the data in more than one bit");
        return default;
    }
}
