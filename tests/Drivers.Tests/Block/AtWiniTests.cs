// The at_wini driver under RS on a machine with the ATA disk model (docs/machine.md "ATA disk")
// on a sparse image file: the PIIX3 IDE function at 00:04.0 (bus master at BAR4 = 0xC100,
// IRQ 14) behind the IOMMU, the legacy ports 0x1F0–0x1F7/0x3F6, the trusted PCI-bus and IOMMU
// drivers at their slots, and the driver started by RS as c0d0 with etc/drivers.conf's at_wini
// policy (-mirror needs the NativeAOT image, so etc/rc, not these JIT tests, uses it). The oracle is the image file itself, read by the test on the host: what
// the driver wrote must be there byte for byte (SHA-256), and what the test wrote there must be
// what the driver reads — through DMA, through PIO (`pio`), with scatter-gather, on MBR
// partitions the test wrote with its own code, with LBA48 on a disk larger than 128 GiB, after a
// DMA the IOMMU refuses (fallback to PIO), and after a SIGKILL in the middle of a transfer.
using System.Globalization;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class AtWiniTests : IDisposable
{
    private static readonly Bulkhead.Machine.Pci.PciAddress Address = BlockKit.AtaAddress;
    private const int Big = BlockDriverCall.MaxTransfer / 4;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"bulkhead-atwini-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
    private readonly Board _board = new();
    private DiskImage? _image;
    private RsSystem? _rs;

    public AtWiniTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        File.Delete(_path);
    }

    private RsSystem Rs => _rs!;

    /// <summary>Boots the machine with a disk of <paramref name="bytes"/>, optionally with
    /// <paramref name="sector0"/> already in the image.</summary>
    private void Boot(long bytes = 64L << 20, byte[]? sector0 = null)
    {
        _image = DiskImage.Open(_path, bytes);
        if (sector0 is not null) Assert.True(_image.Write(0, sector0));
        _rs = new RsSystem(_output, _board, kernel => BlockKit.PlugAta(_board, _image, kernel));
    }

    private int Up(string args = "")
    {
        var up = Rs.Manager.Ask($"rs-spec up label=c0d0;binary={RsSystem.Image};args=at_wini{(args.Length > 0 ? " " + args : "")};policy=at_wini");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState("c0d0", "running");
        return RsKit.Ep(Rs.Row("c0d0"));
    }

    /// <summary>The image's bytes at [offset, +length), read on the host.</summary>
    private byte[] OnImage(long offset, int length)
    {
        var b = new byte[length];
        Assert.True(_image!.Read(offset, b));
        return b;
    }

    /// <summary>Writes, reads back and checks against the image: plain, then scatter-gather.</summary>
    private void ReadWriteChecks(int ep, int seed, int length)
    {
        var c = Rs.Client;
        long at = 1 << 20;
        var data = BlockKit.Pattern(length, seed);
        var w = c.Blk($"write {ep} 0 {at} {length} {seed}").Is("OK");
        Assert.Equal((length, BlockKit.Sha(data)), (w.Count, w.Sha));
        Assert.Equal(BlockKit.Sha(data), BlockKit.Sha(OnImage(at, length)));
        Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} 0 {at} {length}").Is("OK").Sha);

        // What the host put in the image is what the driver reads (a range never written by it).
        var host = BlockKit.Pattern(3 * 4096, seed + 1);
        Assert.True(_image!.Write(8L << 20, host));
        Assert.Equal(BlockKit.Sha(host), c.Blk($"read {ep} 0 {8L << 20} {host.Length}").Is("OK").Sha);

        // Scatter-gather: entries at odd offsets in separate grants, split differently each way.
        var sg = BlockKit.Pattern(512 + 4096 + 1536, seed + 2);
        c.Blk($"scatter {ep} 0 {2L << 20} 512,4096,1536 {seed + 2}").Is("OK");
        Assert.Equal(BlockKit.Sha(sg), BlockKit.Sha(OnImage(2L << 20, sg.Length)));
        var back = c.Blk($"gather {ep} 0 {2L << 20} 1024,5120");
        Assert.Equal((sg.Length, BlockKit.Sha(sg)), (back.Is("OK").Count, back.Sha));
    }

    [Fact]
    public void Dma_ReadsAndWritesByteExact_ThroughTheIommu()
    {
        Boot();
        int ep = Up();
        Assert.True(Rs.Sys.Console.Has("at_wini: BULKHEAD ATA DISK, 131072 sectors (64 MiB), LBA48, irq 14, 00:04.0 bus master io 0xc100 dma 0x"), Rs.Console());
        var c = Rs.Client;
        var open = c.Blk($"open {ep} 0 3").Is("OK");
        Assert.Equal((64L << 20, 512, 0), (open.Size, open.SectorSize, open.Partitions));
        ReadWriteChecks(ep, 1, 300 * 1024); // more than the 128 KiB bounce buffer: three commands
        // One large request (as large as the puppet's arena allows: a quarter of MaxTransfer).
        var big = c.Blk($"write {ep} 0 {16L << 20} {Big} 3").Is("OK");
        Assert.Equal(BlockKit.Sha(OnImage(16L << 20, Big)), big.Sha);
        Assert.Equal(big.Sha, c.Blk($"read {ep} 0 {16L << 20} {Big}").Is("OK").Sha);
        Assert.Equal(0, _board.Iommu.Denied(Address.RequesterId));
        Assert.False(Rs.Sys.Console.Has("falling back to PIO"), Rs.Console());
    }

    [Fact]
    public void Pio_ReadsAndWritesByteExact()
    {
        Boot();
        int ep = Up("pio");
        Assert.True(Rs.Sys.Console.Has("at_wini: BULKHEAD ATA DISK, 131072 sectors (64 MiB), LBA48, irq 14, pio"), Rs.Console());
        Rs.Client.Blk($"open {ep} 0 3").Is("OK");
        ReadWriteChecks(ep, 20, 40 * 1024);
    }

    [Fact]
    public void Requests_OutOfRangeOrMalformed_GetErrors_AndTheDriverStaysUp()
    {
        Boot(1L << 20);
        int ep = Up();
        var c = Rs.Client;
        c.Blk($"read {ep} 0 0 512").Is("EBADF");
        c.Blk($"open {ep} 5 1").Is("ENXIO");
        c.Blk($"open {ep} 1 1").Is("ENXIO"); // an empty disk has no partition table
        c.Blk($"open {ep} 0 3").Is("OK");
        c.Blk($"read {ep} 0 256 512").Is("EINVAL");
        c.Blk($"read {ep} 0 0 1000").Is("EINVAL");
        Assert.Equal(1024, c.Blk($"read {ep} 0 {(1 << 20) - 1024} 65536").Is("OK").Count);
        Assert.Equal(0, c.Blk($"write {ep} 0 {1 << 20} 512 1").Is("OK").Count);
        Assert.Equal(0, c.Blk($"read {ep} 0 {1L << 40} 512").Is("OK").Count);
        c.Blk($"vector {ep} 0 0 {BlockDriverCall.MaxVector + 1} 1").Is("EINVAL");
        var bad = c.Blk($"req {ep} {BlockDriverCall.Read} 0 4242 512 0");
        Assert.True(bad.Ipc == "OK" && bad.Result is "EPERM" or "EINVAL", bad.Text);
        c.Blk($"ioctl {ep} 0 {BlockDriverCall.IoctlRamSize} 4096").Is("ENOTTY");
        Assert.Equal(BlockKit.Sha(new byte[4096]), c.Blk($"read {ep} 0 0 4096").Is("OK").Sha);
        Assert.Equal(ep, RsKit.Ep(Rs.Row("c0d0")));
    }

    [Fact]
    public void MbrPartitions_BecomeMinors_AndAMalformedTableGivesNone()
    {
        Boot(sector0: BlockKit.Mbr((0x80, 0x81, 2048, 4096), (0x00, 0x83, 8192, 8192)));
        int ep = Up();
        var c = Rs.Client;
        Assert.Equal(2, c.Blk($"open {ep} 0 1").Is("OK").Partitions);
        var p1 = c.Blk($"open {ep} 1 3").Is("OK");
        Assert.Equal((2048L * 512, 4096L * 512), (p1.Base, p1.Size));
        var p2 = c.Blk($"open {ep} 2 3").Is("OK");
        Assert.Equal((8192L * 512, 8192L * 512), (p2.Base, p2.Size));
        c.Blk($"open {ep} 3 1").Is("ENXIO");
        c.Blk($"open {ep} 4 1").Is("ENXIO");

        // Minor 2 starts at its partition; a transfer running past the partition's end is short.
        var w = c.Blk($"write {ep} 2 4096 8192 5").Is("OK");
        Assert.Equal(w.Sha, BlockKit.Sha(OnImage(8192L * 512 + 4096, 8192)));
        Assert.Equal(1024, c.Blk($"read {ep} 1 {4096L * 512 - 1024} 8192").Is("OK").Count);
        Assert.Equal(w.Sha, c.Blk($"read {ep} 0 {8192L * 512 + 4096} 8192").Is("OK").Sha);

        // A new table is read when the disk is opened again with none of its minors open.
        foreach (int m in new[] { 0, 1, 2 }) c.Blk($"close {ep} {m}").Is("OK");
        foreach (var table in new[]
                 {
                     BlockKit.Mbr((0x00, 0x83, 2048, 4096), (0x00, 0x83, 4000, 100)),   // overlapping
                     BlockKit.Mbr((0x00, 0x83, 2048, 1u << 30)),                       // past the end of the disk
                     BlockKit.Mbr((0x42, 0x83, 2048, 4096)),                           // bad boot flag
                     BlockKit.Mbr((0x00, 0x83, 0, 4096)),                              // starts at the MBR
                     new byte[512],                                           // no signature
                 })
        {
            Assert.True(_image!.Write(0, table));
            Assert.Equal(0, c.Blk($"open {ep} 0 1").Is("OK").Partitions);
            c.Blk($"open {ep} 1 1").Is("ENXIO");
            c.Blk($"close {ep} 0").Is("OK");
        }
        Assert.Equal(ep, RsKit.Ep(Rs.Row("c0d0")));
    }

    [Fact]
    public void Flush_Succeeds_AndTheDataIsInTheImageFile()
    {
        Boot();
        int ep = Up();
        var c = Rs.Client;
        c.Blk($"open {ep} 0 3").Is("OK");
        var w = c.Blk($"write {ep} 0 {5L << 20} 65536 8").Is("OK");
        c.Blk($"flush {ep} 0").Is("OK");
        // Read back through a separate host handle on the file itself.
        using var f = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var b = new byte[65536];
        f.Position = 5L << 20;
        f.ReadExactly(b);
        Assert.Equal(w.Sha, BlockKit.Sha(b));
    }

    [Fact]
    public void Lba48_ReachesSectorsPastLba28()
    {
        Boot(200L << 30); // sparse: 200 GiB, so sectors past 2^28 exist
        int ep = Up();
        var c = Rs.Client;
        Assert.Equal(200L << 30, c.Blk($"open {ep} 0 3").Is("OK").Size);
        long at = (1L << 28) * 512 + 4096 - 2048; // straddles sector 2^28
        var w = c.Blk($"write {ep} 0 {at} 8192 6").Is("OK");
        Assert.Equal(w.Sha, BlockKit.Sha(OnImage(at, 8192)));
        Assert.Equal(w.Sha, c.Blk($"read {ep} 0 {at} 8192").Is("OK").Sha);
        long end = (200L << 30) - 4096;
        Assert.Equal(w.Sha, c.Blk($"write {ep} 0 {end} 8192 6").Is("OK").Sha.Length > 0 ? w.Sha : "");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(8192, 6).AsSpan(0, 4096)), BlockKit.Sha(OnImage(end, 4096)));
    }

    [Fact]
    public void DmaRefusedByTheIommu_FallsBackToPio_WithNoByteLost()
    {
        Boot();
        int ep = Up();
        var c = Rs.Client;
        c.Blk($"open {ep} 0 3").Is("OK");
        _board.Iommu.Reset(Address.RequesterId); // as if the domain were lost: every DMA is refused
        var w = c.Blk($"write {ep} 0 {3L << 20} 20480 12").Is("OK");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(20480, 12)), BlockKit.Sha(OnImage(3L << 20, 20480)));
        Assert.Equal(w.Sha, c.Blk($"read {ep} 0 {3L << 20} 20480").Is("OK").Sha);
        Assert.True(_board.Iommu.Denied(Address.RequesterId) >= 1);
        Assert.True(Rs.Sys.Console.Has("failed: falling back to PIO"), Rs.Console());
        Assert.Equal(ep, RsKit.Ep(Rs.Row("c0d0")));
    }

    /// <summary>SIGKILL while a 1 MiB read is in progress, three times. In PIO a read takes
    /// thousands of kernel calls, so the kill always lands inside it and the client must learn
    /// that the driver died (EDEADSRCDST); in DMA it is 8 commands and may finish first, but then
    /// with the right data. Either way RS restarts the driver under a new endpoint, the new
    /// instance resets the controller (and in DMA pins and maps its region again), and a
    /// reopened, retried read returns exactly what is on the disk.</summary>
    [Theory]
    [InlineData("pio")]
    [InlineData("")]
    public void KilledMidTransfer_IsRestarted_AndARetriedReadReturnsTheData(string mode)
    {
        Boot();
        int first = Up(mode);
        var c = Rs.Client;
        c.Blk($"open {first} 0 3").Is("OK");
        var w = c.Blk($"write {first} 0 {4L << 20} {Big} 13").Is("OK");
        Assert.Equal(w.Sha, BlockKit.Sha(OnImage(4L << 20, Big)));

        for (int round = 0; round < 3; round++)
        {
            int ep = RsKit.Ep(Rs.Row("c0d0"));
            long traps = Rs.Sys.Find(ep)!.Value.Traps;
            var pending = c.AskAsync($"blk read {ep} 0 {4L << 20} {Big}");
            var until = DateTime.UtcNow.AddSeconds(20);
            while (Rs.Sys.Find(ep)!.Value.Traps < traps + 20 + 40 * round && DateTime.UtcNow < until) Thread.SpinWait(100);
            Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(ep, 9));
            var answer = new BlkAnswer(Puppet.Await(pending));
            _output.WriteLine($"round {round}: {answer.Ipc} {answer.Result}");
            if (mode == "pio") Assert.Equal("EDEADSRCDST", answer.Ipc);
            else Assert.True(answer.Ipc == "EDEADSRCDST" || (answer.Result == "OK" && answer.Sha == w.Sha), answer.Text);

            var row = Rs.WaitRestarts("c0d0", round + 1);
            int next = RsKit.Ep(row);
            Assert.NotEqual(ep, next);
            Assert.Equal("terminated", row[4]);
            // The new instance knows no opens: the client reopens and retries.
            c.Blk($"read {next} 0 {4L << 20} 4096").Is("EBADF");
            c.Blk($"open {next} 0 3").Is("OK");
            var retried = c.Blk($"read {next} 0 {4L << 20} {Big}").Is("OK");
            Assert.Equal((Big, w.Sha), ((int)retried.Count, retried.Sha));
        }
        var starts = Rs.Sys.Console.Lines.Where(l => l.Contains("at_wini: BULKHEAD ATA DISK", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, starts.Count);
        Assert.All(starts, l => Assert.EndsWith(mode == "pio" ? "pio" : "", l));
        if (mode != "pio") Assert.All(starts, l => Assert.Contains(" dma 0x", l, StringComparison.Ordinal));
    }
}
