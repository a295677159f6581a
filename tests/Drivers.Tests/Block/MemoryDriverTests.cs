// The memory driver under RS (docs/block.md): /dev/null (minor 3), /dev/zero (5) and the RAM
// disks (7..14) through the block-driver protocol, the protocol's bad input answered with
// errors while the driver stays up, answers to SENDA requests naming their requests, and a
// RAM disk across a SIGKILL: it comes back with its size and identity but empty, its old opens
// gone (EBADF) and the first new Open saying the contents were lost.
using System.Globalization;
using Bulkhead.Lib.Block;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class MemoryDriverTests : IDisposable
{
    private const int Null = 3, Zero = 5, Ram0 = 7;
    private readonly RsSystem _rs;

    public MemoryDriverTests(Xunit.Abstractions.ITestOutputHelper output) => _rs = new RsSystem(output);

    public void Dispose() => _rs.Dispose();

    private int Up()
    {
        var up = _rs.Manager.Ask($"rs-spec up label=memory;binary={RsSystem.Image};args=memory;policy=memory");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        _rs.WaitState("memory", "running");
        return RsKit.Ep(_rs.Row("memory"));
    }

    [Fact]
    public void NullAndZero_BehaveLikeTheirUnixNamesakes()
    {
        int ep = Up();
        var c = _rs.Client;
        c.Blk($"open {ep} {Null} 3").Is("OK");
        Assert.Equal(0, c.Blk($"read {ep} {Null} 0 4096").Is("OK").Count);         // EOF at once
        Assert.Equal(100_000, c.Blk($"write {ep} {Null} 12345 100000 1").Is("OK").Count); // any position, any length
        c.Blk($"open {ep} {Zero} 1").Is("OK");
        var zeros = c.Blk($"read {ep} {Zero} 777 100000").Is("OK");
        Assert.Equal(100_000, zeros.Count);
        Assert.Equal(BlockKit.Sha(new byte[100_000]), zeros.Sha);
        Assert.Equal(70_000, c.Blk($"gather {ep} {Zero} 0 30000,40000").Is("OK").Count);
        Assert.Equal(5000, c.Blk($"write {ep} {Zero} 0 5000 2").Is("OK").Count);
        c.Blk($"close {ep} {Null}").Is("OK");
        c.Blk($"close {ep} {Zero}").Is("OK");
    }

    [Fact]
    public void RamDisk_CreatedByIoctl_KeepsWhatIsWritten_AndEndsAtItsSize()
    {
        int ep = Up();
        var c = _rs.Client;
        var open = c.Blk($"open {ep} {Ram0} 3").Is("OK");
        Assert.Equal(0, open.Size);
        Assert.Equal(0, c.Blk($"read {ep} {Ram0} 0 512").Is("OK").Count); // not created yet: empty
        const int Size = 1 << 20;
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlRamSize} {Size}").Is("OK");
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlRamSize} {Size}").Is("OK");       // same size again: fine
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlRamSize} {2 * Size}").Is("EBUSY"); // another size: refused
        c.Blk($"ioctl {ep} {Ram0 + 1} {BlockDriverCall.IoctlRamSize} {Size}").Is("EBADF");  // ram1 not open
        var geo = c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlGeometry} 0").Is("OK");
        Assert.Equal((Size, 512), (geo.Size, geo.SectorSize));

        var data = BlockKit.Pattern(3 * 65536 + 512, 7);
        var w = c.Blk($"write {ep} {Ram0} 4096 {data.Length} 7").Is("OK");
        Assert.Equal((data.Length, BlockKit.Sha(data)), (w.Count, w.Sha));
        Assert.Equal(BlockKit.Sha(data), c.Blk($"read {ep} {Ram0} 4096 {data.Length}").Is("OK").Sha);
        // Scatter-gather with entries at odd offsets in their grants, crossing the chunks.
        var sg = BlockKit.Pattern(512 + 70_144 + 1024, 9);
        c.Blk($"scatter {ep} {Ram0} 65536 512,70144,1024 9").Is("OK");
        var back = c.Blk($"gather {ep} {Ram0} 65536 1024,70656").Is("OK");
        Assert.Equal((sg.Length, BlockKit.Sha(sg)), (back.Count, back.Sha));

        // Past the end: a short count, then nothing.
        Assert.Equal(512, c.Blk($"read {ep} {Ram0} {Size - 512} 4096").Is("OK").Count);
        Assert.Equal(0, c.Blk($"read {ep} {Ram0} {Size} 4096").Is("OK").Count);
        Assert.Equal(1024, c.Blk($"write {ep} {Ram0} {Size - 1024} 8192 3").Is("OK").Count);
    }

    [Fact]
    public void BadRequests_AreAnsweredWithErrors_NamingTheirRequest_AndTheDriverStaysUp()
    {
        int ep = Up();
        var c = _rs.Client;
        c.Blk($"open {ep} 0 1").Is("ENXIO");                // no such minor
        c.Blk($"open {ep} 99 1").Is("ENXIO");
        c.Blk($"open {ep} -1 1").Is("ENXIO");
        c.Blk($"open {ep} {Ram0} 0").Is("EINVAL");          // no access bits
        c.Blk($"open {ep} {Ram0} 12").Is("EINVAL");         // unknown access bits
        c.Blk($"read {ep} {Ram0} 0 512").Is("EBADF");       // not open
        c.Blk($"close {ep} {Ram0}").Is("EINVAL");           // not open
        c.Blk($"open {ep} {Ram0} 3").Is("OK");
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlRamSize} 65536").Is("OK");
        c.Blk($"ioctl {ep} {Ram0} 77 0").Is("ENOTTY");
        c.Blk($"ioctl {ep} {Ram0 + 1} {BlockDriverCall.IoctlRamSize} 1000").Is("EBADF");
        c.Blk($"open {ep} {Ram0 + 1} 3").Is("OK");
        c.Blk($"ioctl {ep} {Ram0 + 1} {BlockDriverCall.IoctlRamSize} 1000").Is("EINVAL"); // not whole sectors
        c.Blk($"ioctl {ep} {Null} {BlockDriverCall.IoctlRamSize} 1024").Is("EBADF");

        c.Blk($"read {ep} {Ram0} 100 512").Is("EINVAL");       // unaligned position
        c.Blk($"read {ep} {Ram0} -512 512").Is("EINVAL");      // negative position
        c.Blk($"read {ep} {Ram0} 0 100").Is("EINVAL");         // not whole sectors
        c.Blk($"gather {ep} {Ram0} 0 512,100").Is("EINVAL");   // an entry not whole sectors
        c.Blk($"req {ep} {BlockDriverCall.Read} {Ram0} 1 {BlockDriverCall.MaxTransfer + 512} 0").Is("EINVAL"); // too large
        c.Blk($"req {ep} {BlockDriverCall.Read} {Ram0} 1 0 0").Is("EINVAL");                                  // empty
        var bad = c.Blk($"req {ep} {BlockDriverCall.Read} {Ram0} 12345 512 0");                               // a grant that does not exist
        Assert.True(bad.Ipc == "OK" && bad.Result is "EPERM" or "EINVAL" or "EFAULT", bad.Text);
        bad = c.Blk($"req {ep} {BlockDriverCall.Write} {Ram0} 12345 512 0");
        Assert.True(bad.Ipc == "OK" && bad.Result is "EPERM" or "EINVAL" or "EFAULT", bad.Text);
        c.Blk($"vector {ep} {Ram0} 0 {BlockDriverCall.MaxVector + 1} 1").Is("EINVAL");  // too many entries
        c.Blk($"vector {ep} {Ram0} 0 0 1").Is("EINVAL");                                 // none
        bad = c.Blk($"vector {ep} {Ram0} 0 4 12345");                                    // entries naming a bad grant
        Assert.True(bad.Ipc == "OK" && bad.Result is "EPERM" or "EINVAL" or "EFAULT", bad.Text);
        bad = c.Blk($"req {ep} {BlockDriverCall.Gather} {Ram0} 12345 2 0");              // the vector's own grant is bad
        Assert.True(bad.Ipc == "OK" && bad.Result is "EPERM" or "EINVAL" or "EFAULT", bad.Text);

        // A request type the protocol does not have, and one of another protocol: ENOSYS, and
        // the answer still names the request.
        var wrong = c.Blk($"req {ep} {BlockDriverCall.Base + 0x50} {Ram0} 0 0 0").Is("ENOSYS");
        Assert.Equal(BlockDriverCall.Base + 0x50, wrong.Request);
        Assert.Equal(Bulkhead.Lib.Net.NetDriverCall.Read, c.Blk($"req {ep} {Bulkhead.Lib.Net.NetDriverCall.Read} 0 0 0 0").Is("ENOSYS").Request);

        // Every answer named its request and id; the driver is the same instance and still serves.
        var ok = c.Blk($"write {ep} {Ram0} 0 65536 5").Is("OK");
        Assert.Equal(BlockDriverCall.Write, ok.Request);
        var again = c.Blk($"read {ep} {Ram0} 0 65536").Is("OK");
        Assert.Equal((BlockDriverCall.Read, ok.Id + 1, ok.Sha), (again.Request, again.Id, again.Sha));
        var row = _rs.Row("memory");
        Assert.Equal((ep.ToString(CultureInfo.InvariantCulture), "running", "0"), (row[1], row[2], row[3]));
    }

    [Fact]
    public void SendaRequests_AreAnsweredByMessages_EachNamingItsRequest()
    {
        int ep = Up();
        var c = _rs.Client;
        c.Blk($"open {ep} {Ram0} 3").Is("OK");
        c.Blk($"ioctl {ep} {Ram0} {BlockDriverCall.IoctlRamSize} 65536").Is("OK");
        var data = BlockKit.Pattern(65536, 11);
        c.Blk($"write {ep} {Ram0} 0 65536 11").Is("OK");
        var a = c.Ask($"blk asend {ep} {Ram0} 0 16384 4");
        var answers = a.Split(' ').Skip(2).ToArray();
        Assert.Equal(4, answers.Length);
        for (int i = 0; i < 4; i++)
        {
            var f = answers[i].Split(':');
            int k = int.Parse(f[3], CultureInfo.InvariantCulture); // which of the four requests this answers
            Assert.Equal(("OK", "OK", BlockDriverCall.Read.ToString(CultureInfo.InvariantCulture), "16384"), (f[0], f[1], f[2], f[4]));
            Assert.Equal(BlockKit.Sha(data.AsSpan(k * 16384, 16384)), f[5]);
        }
        Assert.Equal(4, answers.Select(x => x.Split(':')[3]).Distinct().Count());
    }

    [Fact]
    public void Killed_ComesBackWithItsRamDisks_SizeKept_ContentsLost_AndClientsToldSo()
    {
        int first = Up();
        var c = _rs.Client;
        c.Blk($"open {first} {Ram0 + 2} 3").Is("OK");
        c.Blk($"ioctl {first} {Ram0 + 2} {BlockDriverCall.IoctlRamSize} {256 * 1024}").Is("OK");
        c.Blk($"write {first} {Ram0 + 2} 0 65536 4").Is("OK");
        TestSystem.WaitUntil(() => _rs.Sys.Console.Has("memory: ram2 (minor 9) created"), "the RAM disk");

        Assert.Equal(Lib.Ipc.Err.Ok, _rs.Sys.Kernel.Kill(first, 9));
        int second = RsKit.Ep(_rs.WaitRestarts("memory", 1));
        Assert.NotEqual(first, second);
        Assert.True(_rs.Sys.Console.Has("memory: ram2 (minor 9) re-created empty, 262144 bytes, identity 1"), _rs.Console());

        c.Blk($"read {second} {Ram0 + 2} 0 512").Is("EBADF");   // the old open is gone: reopen
        var reopen = c.Blk($"open {second} {Ram0 + 2} 3").Is("OK");
        Assert.Equal((256 * 1024L, BlockDriverCall.FlagContentsLost), (reopen.Size, reopen.Flags));
        Assert.Equal(0, c.Blk($"open {second} {Ram0 + 2} 1").Is("OK").Flags); // said once
        Assert.Equal(BlockKit.Sha(new byte[65536]), c.Blk($"read {second} {Ram0 + 2} 0 65536").Is("OK").Sha);
        c.Blk($"write {second} {Ram0 + 2} 0 65536 4").Is("OK");
        Assert.Equal(BlockKit.Sha(BlockKit.Pattern(65536, 4)), c.Blk($"read {second} {Ram0 + 2} 0 65536").Is("OK").Sha);
    }
}
