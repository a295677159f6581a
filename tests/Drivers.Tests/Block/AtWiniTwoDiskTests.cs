// Two ATA disks, each under its own at_wini (thesis §5.1.3: "two ATA disks, each of which was
// controlled by an independent ATWINI driver"): disk0 on the primary channel (00:04.0, bus
// master 0xC100, IRQ 14) as c0d0 under policy at_wini, disk1 on the secondary (00:05.0, bus
// master at BAR4+8 = 0xC118, IRQ 15) as c1d0 under at_wini1 with `channel=secondary`, both
// with DMA through the IOMMU. Both functions are 8086:7010 and both policies grant that id:
// each driver must take the function of its own channel, also when restarted, also when both
// are restarted at once. The oracle is the two image files, read on the host.
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class AtWiniTwoDiskTests : IDisposable
{
    private const int Big = BlockDriverCall.MaxTransfer / 4;
    private const string Primary = "irq 14, 00:04.0 bus master io 0xc100 dma 0x", Secondary = "irq 15, 00:05.0 bus master io 0xc118 dma 0x";

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string[] _paths = Enumerable.Range(0, 2).Select(i => Path.Combine(Path.GetTempPath(), $"bulkhead-atwini2-{Environment.ProcessId}-{Guid.NewGuid():N}-{i}.img")).ToArray();
    private readonly Board _board = new();
    private readonly DiskImage _disk0, _disk1;
    private readonly RsSystem _rs;

    public AtWiniTwoDiskTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        _disk0 = DiskImage.Open(_paths[0], 64L << 20);
        _disk1 = DiskImage.Open(_paths[1], 32L << 20);
        _rs = new RsSystem(output, _board, kernel =>
        {
            BlockKit.PlugAta(_board, _disk0, kernel);
            BlockKit.PlugAta(_board, _disk1, kernel, AtaChannel.Secondary);
        });
    }

    public void Dispose()
    {
        _rs.Dispose();
        _disk0.Dispose();
        _disk1.Dispose();
        foreach (var p in _paths) File.Delete(p);
    }

    private int Up(string label, string policy, string args)
    {
        var up = _rs.Manager.Ask($"rs-spec up label={label};binary={RsSystem.Image};args=at_wini{args};policy={policy}");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        _rs.WaitState(label, "running");
        return RsKit.Ep(_rs.Row(label));
    }

    private static byte[] On(DiskImage image, long offset, int length)
    {
        var b = new byte[length];
        Assert.True(image.Read(offset, b));
        return b;
    }

    private int Lines(string what) => _rs.Sys.Console.Lines.Count(l => l.Contains("at_wini: BULKHEAD ATA DISK", StringComparison.Ordinal) && l.Contains(what, StringComparison.Ordinal));

    /// <summary>Both disks hold what was written to each, on the host and through their drivers,
    /// and the other disk has none of it.</summary>
    private void BothIntact(int ep0, int ep1, string sha0, string sha1)
    {
        var c = _rs.Client;
        Assert.Equal(sha0, BlockKit.Sha(On(_disk0, 1L << 20, Big)));
        Assert.Equal(sha1, BlockKit.Sha(On(_disk1, 1L << 20, Big)));
        Assert.Equal(sha0, c.Blk($"read {ep0} 0 {1L << 20} {Big}").Is("OK").Sha);
        Assert.Equal(sha1, c.Blk($"read {ep1} 0 {1L << 20} {Big}").Is("OK").Sha);
        Assert.Equal(0, _board.Iommu.Denied(BlockKit.AtaAddress.RequesterId));
        Assert.Equal(0, _board.Iommu.Denied(BlockKit.Ata1Address.RequesterId));
    }

    [Fact]
    public void TwoDrivers_EachOnItsChannel_KilledAndRestarted_FindTheirOwnDisk()
    {
        int ep0 = Up("c0d0", "at_wini", "");
        int ep1 = Up("c1d0", "at_wini1", " channel=secondary");
        Assert.Equal((1, 1), (Lines("131072 sectors (64 MiB), LBA48, " + Primary), Lines("65536 sectors (32 MiB), LBA48, " + Secondary)));
        var c = _rs.Client;
        Assert.Equal(64L << 20, c.Blk($"open {ep0} 0 3").Is("OK").Size);
        Assert.Equal(32L << 20, c.Blk($"open {ep1} 0 3").Is("OK").Size);
        string sha0 = c.Blk($"write {ep0} 0 {1L << 20} {Big} 31").Is("OK").Sha;
        string sha1 = c.Blk($"write {ep1} 0 {1L << 20} {Big} 32").Is("OK").Sha;
        Assert.NotEqual(sha0, sha1);
        BothIntact(ep0, ep1, sha0, sha1);

        // SIGKILL c1d0 in the middle of a write at 4 MiB, three times; c0d0 keeps running.
        var zeros = BlockKit.Sha(new byte[Big]);
        for (int round = 0; round < 3; round++)
        {
            int ep = RsKit.Ep(_rs.Row("c1d0"));
            // Killed once the first DMA command's data is on the disk (the write takes eight).
            var first = BlockKit.Pattern(Big, 40 + round).AsSpan(0, 512).ToArray();
            var pending = c.AskAsync($"blk write {ep} 0 {4L << 20} {Big} {40 + round}");
            var until = DateTime.UtcNow.AddSeconds(20);
            var head = new byte[512];
            while (DateTime.UtcNow < until && (!_disk1.Read(4L << 20, head) || !head.AsSpan().SequenceEqual(first))) Thread.SpinWait(10);
            Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(ep, 9));
            var answer = new BlkAnswer(Puppet.Await(pending));
            _output.WriteLine($"round {round}: {answer.Ipc} {answer.Result}");
            Assert.True(answer.Ipc == "EDEADSRCDST" || answer.Result == "OK", answer.Text);
            ep1 = RsKit.Ep(_rs.WaitRestarts("c1d0", round + 1));
            Assert.NotEqual(ep, ep1);
            Assert.Equal(round + 2, Lines(Secondary));
            c.Blk($"open {ep1} 0 3").Is("OK");
            Assert.Equal(zeros, BlockKit.Sha(On(_disk0, 4L << 20, Big))); // nothing went to the other disk
            BothIntact(ep0, ep1, sha0, sha1);
        }
        Assert.Equal(ep0, RsKit.Ep(_rs.Row("c0d0")));
        Assert.Equal(1, Lines(Primary));

        // Both killed at the same moment: the two new instances race for the functions.
        Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(ep0, 9));
        Assert.Equal(Err.Ok, _rs.Sys.Kernel.Kill(ep1, 9));
        ep0 = RsKit.Ep(_rs.WaitRestarts("c0d0", 1));
        ep1 = RsKit.Ep(_rs.WaitRestarts("c1d0", 4));
        _rs.WaitState("c0d0", "running");
        _rs.WaitState("c1d0", "running");
        Assert.Equal((2, 5), (Lines(Primary), Lines(Secondary)));
        Assert.Equal(64L << 20, c.Blk($"open {ep0} 0 3").Is("OK").Size);
        Assert.Equal(32L << 20, c.Blk($"open {ep1} 0 3").Is("OK").Size);
        BothIntact(ep0, ep1, sha0, sha1);
        var w = c.Blk($"write {ep1} 0 {8L << 20} 65536 50").Is("OK");
        Assert.Equal(w.Sha, BlockKit.Sha(On(_disk1, 8L << 20, 65536)));
        Assert.Equal(BlockKit.Sha(new byte[65536]), BlockKit.Sha(On(_disk0, 8L << 20, 65536)));
        Assert.False(_rs.Sys.Console.Has("falling back to PIO") || _rs.Sys.Console.Has("no DMA"), _rs.Console());
    }
}
