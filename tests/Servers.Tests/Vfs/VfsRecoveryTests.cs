// Recovery through VFS (thesis §4.3.1, "Recovering Block-device Drivers"): at_wini SIGKILLed
// twice in the middle of a 32 MiB read that a program makes through VFS and MFS — the program
// sees no error and reads exactly what was written; MFS SIGKILLed — RS restarts it, VFS mounts
// it again (its old open files answer EIO) and new calls work; VFS SIGKILLed — RS restarts it,
// the program's next call (and a call blocked in VFS) ends with an error rather than a hang, and
// the calls after that reach the new VFS, which took the root's mount over from the dead one;
// the disk driver taken down for good — a raw read answers EIO after BlockClient's bounded wait,
// and reads work again once a driver is back.
// Every service is running at the end.
using Bulkhead.Lib.Vfs;
using Bulkhead.Servers.Tests.Mfs;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Vfs;

public sealed class VfsRecoveryTests : IDisposable
{
    private const int Creat = VfsCall.O_CREAT, Rd = VfsCall.O_RDONLY, Wr = VfsCall.O_WRONLY, RdWr = VfsCall.O_RDWR;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private VfsKit? _kit;

    public VfsRecoveryTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose() => _kit?.Dispose();

    private void AllRunning()
    {
        foreach (string label in new[] { "c0d0", "memory", "mfs_root", "vfs" })
            Assert.Equal("running", _kit!.Rs.Row(label)[2]);
    }

    private int Ep(string label) => RsKit.Ep(_kit!.Rs.Row(label));

    [MinixFact]
    public void DiskDriverKilledTwice_DuringA32MiBRead_TheProgramSeesNoError_AndTheSameBytes()
    {
        _kit = new VfsKit(_output, 96L << 20);
        var p = _kit.Program();
        const int Size = 32 << 20;
        int fd = p.Fd($"open /big {Creat | Wr} 420");
        Assert.Equal(Size.ToString(), p.V($"write {fd} 21 {Size}", 180_000)[0]);
        p.Is("OK", $"close {fd}");
        p.Is("OK", "sync");

        // A kill counts when the read was still going after the replacement was up: then the
        // read began before the kill and ended after it. On a fast machine a whole read can end
        // between two kills; then the next read starts and every read must return the bytes.
        string expect = $"r {Size} {VfsAsk.Sha(VfsAsk.Pattern(Size, 21))}";
        int spanned = 0, kills = 0;
        for (int reads = 0; spanned < 2; reads++)
        {
            Assert.True(reads < 8, $"only {spanned} of {kills} kills landed inside a read");
            var reading = p.AskAsync("vfs cat /big");
            Thread.Sleep(150);
            while (!reading.IsCompleted && spanned < 2)
            {
                Assert.Equal(Bulkhead.Lib.Ipc.Err.Ok, _kit.Rs.Sys.Kernel.Kill(Ep("c0d0"), 9));
                _kit.Rs.WaitRestarts("c0d0", ++kills, 30_000);
                if (!reading.IsCompleted) spanned++;
            }
            Assert.Equal(expect, Puppet.Await(reading, 180_000));
        }
        Assert.True(_kit.Rs.Sys.Console.Has("blockclient: c0d0"), "MFS's BlockClient never saw the driver go");
        AllRunning();
        MinixTools.AssertClean(_kit.ImagePath);
    }

    [Fact]
    public void FileServerKilled_IsMountedAgain_OldFilesEio_NewCallsWork()
    {
        _kit = new VfsKit(_output);
        var p = _kit.Program();
        int fd = p.Fd($"open /kept {Creat | RdWr} 420");
        p.Is("6", $"writes {fd} synced");
        p.Is("OK", $"fsync {fd}");
        int old = Ep("mfs_root");
        Assert.Equal(Bulkhead.Lib.Ipc.Err.Ok, _kit.Rs.Sys.Kernel.Kill(old, 9));
        _kit.Rs.WaitRestarts("mfs_root", 1);
        Assert.NotEqual(old, Ep("mfs_root"));
        // The call that finds the file server gone answers EIO; the next ones reach the new one.
        int eio = 0;
        TestSystem.WaitUntil(() =>
        {
            string r = p.V("stat /kept")[0];
            Assert.True(r is "OK" or "EIO", r);
            if (r == "EIO") eio++;
            return r == "OK";
        }, "stat through the new MFS");
        Assert.True(eio <= 1, $"{eio} EIO before the remount");
        Assert.True(_kit.Rs.Sys.Console.Has("vfs: mounted mfs_root again"));
        p.Is("EIO", $"pread {fd} 0 5");                               // the new MFS knows no old inode
        p.Is("OK", $"close {fd}");
        Assert.Equal(["6", "synced"], p.V($"reads {p.Fd($"open /kept {Rd} 0")} 100"));
        fd = p.Fd($"open /new {Creat | Wr} 420");
        p.Is("100000", $"write {fd} 8 100000");
        Assert.Equal(["100000", VfsAsk.Sha(VfsAsk.Pattern(100000, 8))], p.V("cat /new"));
        AllRunning();
    }

    [Fact]
    public void VfsKilled_TheNextCallFails_NoHang_ThenTheNewVfsServes()
    {
        _kit = new VfsKit(_output);
        var p = _kit.Program();
        int fd = p.Fd($"open /f {Creat | RdWr} 420");
        p.Is("3", $"writes {fd} abc");
        var q = _kit.Program("blocked");
        var pipe = q.Is("OK", "pipe");
        var waiting = q.AskAsync($"vfs reads {pipe[1]} 10");
        Thread.Sleep(300);
        Assert.False(waiting.IsCompleted);
        int old = Ep("vfs");
        Assert.Equal(Bulkhead.Lib.Ipc.Err.Ok, _kit.Rs.Sys.Kernel.Kill(old, 9));
        Assert.Equal("r EDEADSRCDST", Puppet.Await(waiting, 20_000));   // the blocked call ends
        _kit.Rs.WaitRestarts("vfs", 1);
        TestSystem.WaitUntil(() => _kit.Rs.Sys.Console.Has("mounted again for endpoint"), "MFS handing the root to the new VFS");
        Assert.StartsWith("E", p.V("stat /f")[0], StringComparison.Ordinal);   // the old VFS is gone: an error
        p.Is("OK", "stat /f");                                          // the new one, found through DS
        p.Is("EBADF", $"read {fd} 1");                                  // descriptors died with the old VFS
        fd = p.Fd($"open /f {RdWr} 0");
        Assert.Equal(["3", "abc"], p.V($"reads {fd} 10"));
        p.Is("3", $"writes {fd} def");
        Assert.Equal("6", p.V("cat /f")[0]);
        AllRunning();
    }

    [Fact]
    public void DiskDriverGone_ARawReadAnswersEioAfterTheBoundedWait_AndWorksOnceItIsBack()
    {
        _kit = new VfsKit(_output);
        var p = _kit.Program();
        p.Is("OK", $"mknod /c0d0 {Bulkhead.Lib.Fs.FsMode.BlockDevice | 0x180:x} {VfsCall.MakeDev(3, 0)}");
        p.Is("OK", "sync");
        int fd = p.Fd($"open /c0d0 {Rd} 0");
        string first = p.V($"pread {fd} 0 4096")[1];
        Assert.StartsWith("r OK OK", _kit.Rs.Manager.Ask("rs down c0d0"));
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("EIO", p.V($"pread {fd} 8192 4096", 90_000)[0]);   // no driver came back in time
        Assert.InRange(started.ElapsedMilliseconds, 5_000, 60_000);      // BlockClient's RecoveryTimeoutMs (30 s), not at once, not forever
        Assert.Equal("running", _kit.Rs.Row("vfs")[2]);
        _kit.Up("c0d0", "at_wini", "at_wini");
        Assert.Equal(["4096", first], p.V($"pread {fd} 0 4096"));
        p.Is("OK", $"close {fd}");
        p.Is("OK", "stat /c0d0");
    }
}
