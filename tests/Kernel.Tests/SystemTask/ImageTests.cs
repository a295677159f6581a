// IMAGE (src/Kernel/System/ImageCalls.cs): an executable image kept in the kernel, started any
// number of times with SPAWN FromImage without the file and without copying it again; deleted
// only by its creator, dropped when the creator ends; ids never reused; bounded.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.SystemTask;

public sealed class ImageTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TestSystem _sys = new(output: output);
    private readonly List<string> _files = [];

    public void Dispose()
    {
        _sys.Dispose();
        foreach (var f in _files) File.Delete(f);
    }

    private string CopyOf(string binary)
    {
        string copy = Path.Combine(Path.GetTempPath(), $"bulkhead-image-{Environment.ProcessId}-{_files.Count}");
        File.Copy(binary, copy, overwrite: true);
        _files.Add(copy);
        return copy;
    }

    private Puppet Spawner(string name, bool image = true) => _sys.StartPuppet(name, TestSystem.Privileges(
        calls: image ? [KernelCall.Spawn, KernelCall.GetKsig, KernelCall.Image] : [KernelCall.Spawn, KernelCall.GetKsig], flags: PrivilegeBlock.AllTargets),
        files: Host.Jail.JailView.Host); // it reads the binary it hands to the kernel from the host

    private static int Id(string answer)
    {
        Assert.StartsWith("r OK ", answer);
        return (int)Puppet.LongField(answer, 2);
    }

    /// <summary>Starts image <paramref name="id"/> from <paramref name="p"/> and returns the child's exit status.</summary>
    private int Run(Puppet p, int id)
    {
        var a = p.Ask($"spawn-obj child {id}");
        Assert.StartsWith("r OK ", a);
        int child = (int)Puppet.LongField(a, 2);
        TestSystem.WaitUntil(() => _sys.Find(child) is { State: ProcState.Zombie }, "the child to exit");
        var k = p.Ask("ksig").Split(' ');
        Assert.Equal((child.ToString(System.Globalization.CultureInfo.InvariantCulture), ExitInfo.Exited.ToString(System.Globalization.CultureInfo.InvariantCulture)), (k[2], k[3]));
        return int.Parse(k[4], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Create_ThenSpawnAsOftenAsWanted_WithoutTheFile()
    {
        var p = Spawner("rs");
        string f = CopyOf("/bin/false"), t = CopyOf("/bin/true");
        int no = Id(p.Ask($"image-create {f}"));
        int yes = Id(p.Ask($"image-create {t}"));
        File.Delete(f);
        File.Delete(t);
        Assert.NotEqual(no, yes);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1, Run(p, no));
            Assert.Equal(0, Run(p, yes));
        }
    }

    [Fact]
    public void Delete_OnlyByTheCreator_AndIdsAreNeverReused()
    {
        var owner = Spawner("rs");
        var other = Spawner("pm");
        int id = Id(owner.Ask($"image-create {CopyOf("/bin/true")}"));
        long before = _sys.Kernel.Denials()[(int)Denial.RequestRejected];
        Assert.Equal("r EPERM", other.Ask($"image-delete {id}"));
        Assert.Equal(before + 1, _sys.Kernel.Denials()[(int)Denial.RequestRejected]);
        Assert.Equal(0, Run(other, id)); // anyone with SPAWN may start it (PM starts RS's images)
        Assert.Equal("r OK", owner.Ask($"image-delete {id}"));
        Assert.Equal("r ENOENT", owner.Ask($"image-delete {id}"));
        Assert.StartsWith("r ENOENT", other.Ask($"spawn-obj child {id}"));
        int next = Id(owner.Ask($"image-create {CopyOf("/bin/true")}"));
        Assert.True(next > id, $"id {id} reused as {next}");
    }

    [Fact]
    public void TheCreatorsEnd_DropsItsImages()
    {
        var owner = Spawner("rs");
        var pm = Spawner("pm");
        int id = Id(owner.Ask($"image-create {CopyOf("/bin/true")}"));
        Assert.Equal(0, Run(pm, id));
        int ep = owner.Endpoint;
        _ = owner.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => _sys.Find(ep) is null, "the creator gone");
        Assert.StartsWith("r ENOENT", pm.Ask($"spawn-obj child {id}"));
    }

    [Fact]
    public void Refusals_NoCall_BadRange_Full()
    {
        Assert.StartsWith("r ECALLDENIED", Spawner("plain", image: false).Ask($"image-create {CopyOf("/bin/true")}"));
        var p = Spawner("rs");
        long before = _sys.Kernel.Denials()[(int)Denial.MemoryOutsideArena];
        Assert.StartsWith("r EFAULT", p.Ask($"kcall {KernelCall.Image} {ImageRequest.Create} {1L << 40} 4096"));
        Assert.Equal(before + 1, _sys.Kernel.Denials()[(int)Denial.MemoryOutsideArena]);
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.Image} {ImageRequest.Create} 0 0"));
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.Image} 7 0 0"));
        Assert.StartsWith("r ENOENT", p.Ask("spawn-obj child 999999"));
        string small = CopyOf("/bin/true");
        int made = 0;
        string last = "";
        for (int i = 0; i < 40 && (last = p.Ask($"image-create {small}")).StartsWith("r OK", StringComparison.Ordinal); i++) made++;
        Assert.Equal(32, made);
        Assert.StartsWith("r ENOSPC", last);
    }
}
