// Bounded resources (STYLE rule 7): the entry table, the MEM size per entry and in total, and
// snapshots per entry are fixed; a full table answers ENOSPC and changes nothing. Also MEM
// truncation to the caller's buffer and snapshot retrieval by number.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ds;

namespace Bulkhead.Servers.Tests.Ds;

[Collection(DsKit.Collection)]
public sealed class DsLimitTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Entries_TableFull_Enospc()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha"); // its label is one entry
        int ok = 0;
        string last = "";
        for (int i = 0; i < DsLimits.MaxEntries + 1; i++)
        {
            last = a.Ask($"ds pub u32 e{i} {i}");
            if (last != "r OK") break;
            ok++;
        }
        Assert.Equal("r ENOSPC", last);
        Assert.Equal(DsLimits.MaxEntries - 1, ok);
        Assert.Equal("r OK 3", a.Ask("ds get u32 e3"));
        Assert.Equal("r OK", a.Ask("ds pub u32 e3 4 overwrite")); // overwriting needs no new slot
        Assert.Equal("r OK", a.Ask("ds del u32 e3"));
        Assert.Equal("r OK", a.Ask("ds pub u32 again 1"));
    }

    [Fact]
    public void Mem_SizeAndBudget_Bounded()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        int max = DsLimits.MaxMemLength;
        Assert.Equal("r EINVAL", a.Ask($"ds pub mem big @{max + 1}:1"));
        int fit = DsLimits.MemBudget / max;
        for (int i = 0; i < fit; i++) Assert.Equal("r OK", a.Ask($"ds pub mem m{i} @{max}:{i + 1}"));
        Assert.Equal("r ENOSPC", a.Ask("ds pub mem more @1:1"));
        Assert.Equal($"r OK {max} {max} sum:{(long)max * 2}", a.Ask("ds get mem m1"));
        // Overwriting with a value of the same size fits: the old one is released.
        Assert.Equal("r OK", a.Ask($"ds pub mem m1 @{max}:7 overwrite"));
        Assert.StartsWith("r ENOSPC", a.Ask("ds snap m1"));
        Assert.Equal("r OK", a.Ask("ds del mem m0"));
        Assert.Equal("r OK", a.Ask("ds pub mem more @1:1"));
        Assert.Equal("r OK", a.Ask("ds pub mem empty @0:0"));
        Assert.Equal("r OK 0 0 sum:0", a.Ask("ds get mem empty"));
    }

    [Fact]
    public void Mem_SmallBuffer_TruncatedWithFullLength()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        Assert.Equal("r OK", a.Ask("ds pub mem text abcdefghij"));
        Assert.Equal("r OK 10 4 abcd", a.Ask("ds get mem text 0 4"));
    }

    [Fact]
    public void Snapshots_NumberedAndBounded()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        Assert.Equal("r OK", a.Ask("ds pub mem st version1"));
        Assert.Equal("r OK 1", a.Ask("ds snap st"));
        Assert.Equal("r OK", a.Ask("ds pub mem st version2 overwrite"));
        Assert.Equal("r OK 2", a.Ask("ds snap st"));
        Assert.Equal("r OK", a.Ask("ds pub mem st version3 overwrite"));
        Assert.Equal("r OK 8 8 version1", b.Ask("ds get mem st 1"));
        Assert.Equal("r OK 8 8 version2", b.Ask("ds get mem st 2"));
        Assert.Equal("r OK 8 8 version3", b.Ask("ds get mem st 0"));
        Assert.StartsWith("r ESRCH", b.Ask("ds get mem st 3"));
        Assert.StartsWith("r EPERM", b.Ask("ds snap st"));
        Assert.StartsWith("r ESRCH", a.Ask("ds snap nothing"));
        // Only the last SnapshotsPerEntry are kept.
        for (int i = 3; i <= 2 + DsLimits.SnapshotsPerEntry; i++) Assert.Equal($"r OK {i}", a.Ask("ds snap st"));
        Assert.StartsWith("r ESRCH", b.Ask("ds get mem st 1"));
        Assert.StartsWith("r ESRCH", b.Ask("ds get mem st 2"));
        Assert.Equal("r OK 8 8 version3", b.Ask("ds get mem st 3"));
        // Snapshots of a private entry are private too.
        Assert.Equal("r OK", a.Ask("ds pub mem ps secret private"));
        Assert.Equal("r OK 1", a.Ask("ds snap ps"));
        Assert.StartsWith("r EPERM", b.Ask("ds get mem ps 1"));
        Assert.Equal("r OK 6 6 secret", a.Ask("ds get mem ps 1"));
    }
}
