// What DS keeps of a service after `service down` (issue 9 §3): RS deletes the service's LABEL,
// and DS then drops what that label owned — its subscriptions, its pending changes and the
// entries it published (MINIX do_delete) — so that labels brought up and down one after another
// never fill the entry or subscription table. A restart republishes the label instead and keeps
// everything (DsTests.PrivateData_SurvivesOwnerRestart).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ds;

namespace Bulkhead.Servers.Tests.Ds;

[Collection(DsKit.Collection)]
public sealed class DsLabelLifetimeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void DeleteLabel_DropsItsEntriesAndSubscriptions_AndTellsSubscribers()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var svc = DsKit.Client(sys, rs, "svc");
        var obs = DsKit.Client(sys, rs, "obs");
        Assert.Equal("r OK", svc.Ask("ds pub u32 svc.k 7"));
        Assert.Equal("r OK", svc.Ask("ds pub mem svc.blob @100:1 private"));
        Assert.Equal("r OK", svc.Ask(@"ds sub obs\..*"));
        Assert.Equal("r OK", obs.Ask(@"ds sub svc\..*"));
        Assert.Equal("r OK", obs.Ask("ds pub u32 obs.k 1")); // a change waiting for svc

        Assert.Equal("r OK", rs.Ask("ds del label svc"));
        DsKit.Notified(obs);
        Assert.StartsWith("r ESRCH", obs.Ask("ds get u32 svc.k"));
        Assert.StartsWith("r OK svc.k U32", obs.Ask("ds check")); // the deletion, reported as a change
        Assert.StartsWith("r ENOENT", obs.Ask("ds check")); // the private entry reaches only its owner

        // The same label again (a new `service up`) starts empty: no data, no subscription.
        Assert.Equal("r OK", rs.Ask($"ds pub label svc {svc.Endpoint}"));
        Assert.StartsWith("r ESRCH", svc.Ask("ds get mem svc.blob"));
        Assert.StartsWith("r ENOENT", svc.Ask("ds check"));
        Assert.Equal("r OK 1", obs.Ask("ds get u32 obs.k")); // others' entries stay
    }

    [Fact]
    public void UpDownCycles_DistinctLabels_TablesStayBounded()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var p = DsKit.Stranger(sys, "cycler");
        // More cycles than the entry table and the subscription table hold: without the cleanup
        // the 65th subscribe (MaxSubscriptions) or the 255th publish (MaxEntries) is ENOSPC.
        int cycles = DsLimits.MaxEntries + 16;
        for (int i = 0; i < cycles; i++)
        {
            string label = $"w{i}";
            Assert.Equal("r OK", rs.Ask($"ds pub label {label} {p.Endpoint}"));
            Assert.Equal($"r OK cycle {i}", p.Ask($@"ds sub {label}\..*") + $" cycle {i}");
            Assert.Equal($"r OK cycle {i}", p.Ask($"ds pub u32 {label}.state {i}") + $" cycle {i}");
            Assert.Equal("r OK", rs.Ask($"ds del label {label}"));
        }
        Assert.StartsWith("r ESRCH", rs.Ask($"ds get u32 w{cycles - 1}.state"));
    }
}
