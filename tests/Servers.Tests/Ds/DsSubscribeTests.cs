// Publish-subscribe (thesis §4.2.3): a subscriber registers an anchored regex, DS NOTIFYs it
// when a matching key is published, overwritten or deleted, and CHECK hands out one changed
// key per call (ENOENT when none). INITIAL reports existing keys; private keys reach only their
// owner's subscriptions; subscriptions belong to the label and survive a restart.
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Ds;

[Collection(DsKit.Collection)]
public sealed class DsSubscribeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Subscribe_MatchingPublish_NotifiesAndCheckReportsOnce()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var inet = DsKit.Client(sys, rs, "inet");
        var eth = DsKit.Client(sys, rs, "eth0");
        Assert.Equal("r OK", inet.Ask(@"ds sub drv\.net\..*"));
        Assert.StartsWith("r ENOENT", inet.Ask("ds check"));
        Assert.Equal("r OK", eth.Ask("ds pub u32 drv.net.eth0 1"));
        DsKit.Notified(inet);
        Assert.Equal($"r OK drv.net.eth0 U32 {eth.Endpoint}", inet.Ask("ds check"));
        Assert.StartsWith("r ENOENT", inet.Ask("ds check"));
        // Anchored: a key that only contains a match does not count.
        Assert.Equal("r OK", eth.Ask("ds pub u32 x.drv.net.eth0 1"));
        Assert.Equal("r OK", eth.Ask("ds pub u32 drv.netX 1"));
        Assert.StartsWith("r ENOENT", inet.Ask("ds check"));
        // Overwrite and delete are changes too.
        Assert.Equal("r OK", eth.Ask("ds pub u32 drv.net.eth0 2 overwrite"));
        DsKit.Notified(inet);
        Assert.Equal($"r OK drv.net.eth0 U32 {eth.Endpoint}", inet.Ask("ds check"));
        Assert.Equal("r OK", eth.Ask("ds del u32 drv.net.eth0"));
        DsKit.Notified(inet);
        Assert.Equal($"r OK drv.net.eth0 U32 {eth.Endpoint}", inet.Ask("ds check"));
        Assert.StartsWith("r ESRCH", inet.Ask("ds get u32 drv.net.eth0"));
    }

    [Fact]
    public void Check_SeveralChanges_OnePerCallInOrderWithoutDuplicates()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var sub = DsKit.Client(sys, rs, "sub");
        var pub = DsKit.Client(sys, rs, "pub");
        Assert.Equal("r OK", sub.Ask("ds sub k[0-9]"));
        Assert.Equal("r OK", pub.Ask("ds pub u32 k1 1"));
        Assert.Equal("r OK", pub.Ask("ds pub str k2 two"));
        Assert.Equal("r OK", pub.Ask("ds pub u32 k1 3 overwrite"));
        Assert.Equal("r OK", pub.Ask("ds pub mem k3 three"));
        Assert.StartsWith("r OK k1 U32 ", sub.Ask("ds check"));
        Assert.StartsWith("r OK k2 STR ", sub.Ask("ds check"));
        Assert.StartsWith("r OK k3 MEM ", sub.Ask("ds check"));
        Assert.StartsWith("r ENOENT", sub.Ask("ds check"));
    }

    [Fact]
    public void Subscribe_Initial_ReportsExistingKeys()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var sub = DsKit.Client(sys, rs, "sub");
        var pub = DsKit.Client(sys, rs, "pub");
        Assert.Equal("r OK", pub.Ask("ds pub u32 old.one 1"));
        Assert.Equal("r OK", sub.Ask(@"ds sub old\..*"));
        Assert.StartsWith("r ENOENT", sub.Ask("ds check"));
        Assert.Equal("r OK", sub.Ask(@"ds sub old\..* initial"));
        DsKit.Notified(sub);
        Assert.Equal($"r OK old.one U32 {pub.Endpoint}", sub.Ask("ds check"));
        Assert.StartsWith("r ENOENT", sub.Ask("ds check"));
        // Labels are keys too: INITIAL on them lists the running services.
        Assert.Equal("r OK", sub.Ask("ds sub pub label,initial"));
        Assert.Equal($"r OK pub LABEL {rs.Endpoint}", sub.Ask("ds check"));
    }

    [Fact]
    public void Subscribe_TypeFilter_OnlyThoseTypes()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var sub = DsKit.Client(sys, rs, "sub");
        var pub = DsKit.Client(sys, rs, "pub");
        Assert.Equal("r OK", sub.Ask("ds sub t\\..* str"));
        Assert.Equal("r OK", pub.Ask("ds pub u32 t.u 1"));
        Assert.Equal("r OK", pub.Ask("ds pub str t.s s"));
        Assert.StartsWith("r OK t.s STR", sub.Ask("ds check"));
        Assert.StartsWith("r ENOENT", sub.Ask("ds check"));
    }

    [Fact]
    public void PrivateKey_ReachesOnlyOwnerSubscriptions()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var owner = DsKit.Client(sys, rs, "owner");
        var spy = DsKit.Client(sys, rs, "spy");
        Assert.Equal("r OK", spy.Ask("ds sub .*"));
        Assert.Equal("r OK", owner.Ask("ds sub .*"));
        Assert.Equal("r OK", owner.Ask("ds pub u32 owner.secret 1 private"));
        DsKit.Notified(owner);
        Assert.StartsWith("r OK owner.secret U32", owner.Ask("ds check"));
        Assert.StartsWith("r ENOENT", spy.Ask("ds check"));
        Assert.Equal("r OK", spy.Ask(@"ds sub owner\..* initial"));
        Assert.StartsWith("r ENOENT", spy.Ask("ds check"));
    }

    [Fact]
    public void Subscriptions_SurviveSubscriberRestart()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var sub = DsKit.Client(sys, rs, "vfs");
        var pub = DsKit.Client(sys, rs, "disk");
        Assert.Equal("r OK", sub.Ask(@"ds sub drv\.blk\..*"));
        DsKit.Kill(sys, sub);
        Assert.Equal("r OK", pub.Ask("ds pub u32 drv.blk.disk 1"));
        var sub2 = sys.StartPuppet("vfs", DsKit.Privileges());
        Assert.Equal("r OK", rs.Ask($"ds pub label vfs {sub2.Endpoint} overwrite"));
        DsKit.Notified(sub2); // DS wakes the new instance: a change is waiting for its label
        Assert.Equal($"r OK drv.blk.disk U32 {pub.Endpoint}", sub2.Ask("ds check"));
    }

    [Fact]
    public void Subscribe_BadRegexAndBounds_EinvalOrEnospc()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var sub = DsKit.Client(sys, rs, "sub");
        Assert.Equal("r EINVAL", sub.Ask("ds sub (unclosed"));
        Assert.Equal("r EINVAL", sub.Ask("ds sub a[z-a]"));
        Assert.Equal("r EINVAL", sub.Ask("ds sub " + new string('a', 81)));
        Assert.Equal("r OK", sub.Ask("ds sub " + new string('a', 80)));
        Assert.Equal("r EINVAL", sub.Ask("ds sub x 40")); // initial|type bits only
        Assert.Equal("r EINVAL", sub.Ask("ds sub x map"));
        // Eight per subscriber; the same regex again replaces, it does not add.
        for (int i = 1; i < 8; i++) Assert.Equal("r OK", sub.Ask($"ds sub s{i}"));
        Assert.Equal("r ENOSPC", sub.Ask("ds sub s8"));
        Assert.Equal("r OK", sub.Ask("ds sub s1 u32"));
        // Sixty-four in total: seven more labels of eight each fill the table, the 65th fails.
        for (int l = 1; l <= 7; l++)
        {
            Assert.Equal("r OK", rs.Ask($"ds pub label sub{l} {sub.Endpoint} overwrite")); // rename the puppet
            for (int i = 0; i < 8; i++) Assert.Equal("r OK", sub.Ask($"ds sub l{l}x{i}"));
        }
        Assert.Equal("r OK", rs.Ask($"ds pub label sub8 {sub.Endpoint} overwrite"));
        Assert.Equal("r ENOSPC", sub.Ask("ds sub last"));
    }
}
