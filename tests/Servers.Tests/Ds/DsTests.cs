// Data store conformance (thesis §4.2.3, MINIX DS): every call with every type, and every
// error a call can answer — EEXIST without OVERWRITE, ESRCH for a missing key, EPERM for labels
// published by anyone but RS, for private data asked for by others and for deletes by
// non-owners, EINVAL for malformed requests — and private data surviving its owner's restart.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Tests.Ds;

[Collection(DsKit.Collection)]
public sealed class DsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Publish_EveryType_RetrievesTheValue()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        Assert.Equal("r OK", a.Ask("ds pub u32 a.count 4000000000"));
        Assert.Equal("r OK", a.Ask("ds pub str a.name sixteen-chars-ok"));
        Assert.Equal("r OK", a.Ask("ds pub mem a.blob hello-memory"));
        Assert.Equal("r OK 4000000000", b.Ask("ds get u32 a.count"));
        Assert.Equal("r OK sixteen-chars-ok", b.Ask("ds get str a.name"));
        Assert.Equal("r OK 12 12 hello-memory", b.Ask("ds get mem a.blob"));
        Assert.Equal($"r OK {a.Endpoint}", b.Ask("ds get label alpha"));
        Assert.Equal("r OK alpha", b.Ask($"ds label-of {a.Endpoint}"));
        Assert.StartsWith("r ESRCH", b.Ask($"ds label-of {rs.Endpoint}")); // RS has not named itself
    }

    [Fact]
    public void Publish_ExistingKey_EexistWithoutOverwriteAndOwnerOnlyWithIt()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        Assert.Equal("r OK", a.Ask("ds pub u32 kk 1"));
        Assert.Equal("r EEXIST", a.Ask("ds pub u32 kk 2"));
        Assert.Equal("r OK 1", a.Ask("ds get u32 kk"));
        Assert.Equal("r OK", a.Ask("ds pub u32 kk 3 overwrite"));
        Assert.Equal("r OK 3", b.Ask("ds get u32 kk"));
        Assert.Equal("r EPERM", b.Ask("ds pub u32 kk 4 overwrite"));
        Assert.Equal("r OK 3", b.Ask("ds get u32 kk"));
        // Keys are unique per type (MINIX): the same name as STR is another entry.
        Assert.Equal("r OK", b.Ask("ds pub str kk other"));
        Assert.Equal("r OK other", a.Ask("ds get str kk"));
    }

    [Fact]
    public void Retrieve_MissingKeyOrOtherType_Esrch()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        Assert.StartsWith("r ESRCH", a.Ask("ds get u32 nothing"));
        Assert.Equal("r OK", a.Ask("ds pub u32 only.u32 7"));
        Assert.StartsWith("r ESRCH", a.Ask("ds get str only.u32"));
        Assert.StartsWith("r ESRCH", a.Ask("ds get mem only.u32"));
        Assert.StartsWith("r ESRCH", a.Ask("ds get label nobody"));
        Assert.StartsWith("r ESRCH", a.Ask("ds label-of 12345"));
    }

    [Fact]
    public void PublishLabel_OnlyRs_OthersEperm()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var stranger = DsKit.Stranger(sys, "stranger");
        Assert.Equal("r EPERM", a.Ask($"ds pub label fake {a.Endpoint}"));
        Assert.Equal("r EPERM", a.Ask($"ds pub label alpha {stranger.Endpoint} overwrite"));
        Assert.Equal("r EPERM", stranger.Ask($"ds pub label stranger {stranger.Endpoint}"));
        Assert.Equal($"r OK {a.Endpoint}", stranger.Ask("ds get label alpha"));
        Assert.StartsWith("r ESRCH", stranger.Ask("ds get label fake"));
        // RS: a label is a process endpoint, never ANY/NONE/SELF or a kernel task.
        Assert.Equal("r EINVAL", rs.Ask("ds pub label bad ANY"));
        Assert.Equal("r EINVAL", rs.Ask("ds pub label bad SYSTEM"));
        Assert.Equal("r EEXIST", rs.Ask($"ds pub label alpha {a.Endpoint}"));
    }

    [Fact]
    public void Unlabeled_Caller_MayReadPublicOnly()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var stranger = DsKit.Stranger(sys, "stranger");
        Assert.Equal("r OK", a.Ask("ds pub u32 pub.k 5"));
        Assert.Equal("r OK", a.Ask("ds pub u32 priv.k 6 private"));
        Assert.Equal("r OK 5", stranger.Ask("ds get u32 pub.k"));
        Assert.StartsWith("r EPERM", stranger.Ask("ds get u32 priv.k"));
        Assert.Equal("r EPERM", stranger.Ask("ds pub u32 s.k 1"));
        Assert.Equal("r EPERM", stranger.Ask("ds del u32 pub.k"));
        Assert.Equal("r ESRCH", stranger.Ask("ds sub .*"));
        Assert.StartsWith("r ESRCH", stranger.Ask("ds check"));
        Assert.StartsWith("r EPERM", stranger.Ask("ds snap pub.k"));
    }

    [Fact]
    public void Private_OnlyOwnerRetrieves()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        Assert.Equal("r OK", a.Ask("ds pub u32 a.secret 42 private"));
        Assert.Equal("r OK", a.Ask("ds pub str a.s hidden private"));
        Assert.Equal("r OK", a.Ask("ds pub mem a.m state private"));
        Assert.Equal("r OK 42", a.Ask("ds get u32 a.secret"));
        Assert.Equal("r OK hidden", a.Ask("ds get str a.s"));
        Assert.Equal("r OK 5 5 state", a.Ask("ds get mem a.m"));
        Assert.StartsWith("r EPERM", b.Ask("ds get u32 a.secret"));
        Assert.StartsWith("r EPERM", b.Ask("ds get str a.s"));
        Assert.StartsWith("r EPERM", b.Ask("ds get mem a.m"));
        Assert.Equal("r EPERM", b.Ask("ds pub u32 a.secret 1 overwrite"));
        // Overwriting may change the privacy: now public.
        Assert.Equal("r OK", a.Ask("ds pub u32 a.secret 43 overwrite"));
        Assert.Equal("r OK 43", b.Ask("ds get u32 a.secret"));
    }

    [Fact]
    public void Delete_OwnerOnly_ThenEsrch()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        Assert.Equal("r OK", a.Ask("ds pub u32 kk 1"));
        Assert.Equal("r EPERM", b.Ask("ds del u32 kk"));
        Assert.Equal("r ESRCH", a.Ask("ds del str kk"));
        Assert.Equal("r ESRCH", a.Ask("ds del u32 missing"));
        Assert.Equal("r OK", a.Ask("ds del u32 kk"));
        Assert.StartsWith("r ESRCH", b.Ask("ds get u32 kk"));
        Assert.Equal("r ESRCH", a.Ask("ds del u32 kk"));
        // Labels belong to RS.
        Assert.Equal("r EPERM", a.Ask("ds del label alpha"));
        Assert.Equal("r OK", rs.Ask("ds del label beta"));
        Assert.StartsWith("r ESRCH", a.Ask("ds get label beta"));
        Assert.Equal("r EPERM", b.Ask("ds pub u32 b.k 1"));
    }

    [Fact]
    public void PrivateData_SurvivesOwnerRestart()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var svc = DsKit.Client(sys, rs, "svc");
        var other = DsKit.Client(sys, rs, "other");
        Assert.Equal("r OK", svc.Ask("ds pub u32 svc.state 77 private"));
        Assert.Equal("r OK", svc.Ask("ds pub mem svc.blob @1000:9 private"));
        int old = svc.Endpoint;
        DsKit.Kill(sys, svc);

        // RS restarts the service: a new process, a new endpoint, the same label republished.
        var svc2 = sys.StartPuppet("svc", DsKit.Privileges());
        Assert.NotEqual(old, svc2.Endpoint);
        Assert.StartsWith("r EPERM", svc2.Ask("ds get u32 svc.state"));
        Assert.Equal("r EEXIST", rs.Ask($"ds pub label svc {svc2.Endpoint}"));
        Assert.Equal("r OK", rs.Ask($"ds pub label svc {svc2.Endpoint} overwrite"));
        Assert.Equal($"r OK {svc2.Endpoint}", other.Ask("ds get label svc"));
        Assert.Equal("r OK 77", svc2.Ask("ds get u32 svc.state"));
        Assert.Equal("r OK 1000 1000 sum:9000", svc2.Ask("ds get mem svc.blob"));
        Assert.StartsWith("r EPERM", other.Ask("ds get u32 svc.state"));
        // ...and it still owns it.
        Assert.Equal("r OK", svc2.Ask("ds pub u32 svc.state 78 private,overwrite"));
        Assert.Equal("r OK", svc2.Ask("ds del mem svc.blob"));
    }

    [Fact]
    public void Label_RepublishedForSameEndpoint_RenamesIt()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "old.name");
        Assert.Equal("r EEXIST", rs.Ask($"ds pub label new.name {a.Endpoint}"));
        Assert.Equal("r OK", rs.Ask($"ds pub label new.name {a.Endpoint} overwrite"));
        Assert.Equal("r OK new.name", a.Ask($"ds label-of {a.Endpoint}"));
        Assert.StartsWith("r ESRCH", a.Ask("ds get label old.name"));
    }

    [Fact]
    public void Keys_LengthAndCharacters_Checked()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        string k80 = new('k', DsLimits.MaxKeyLength);
        Assert.Equal("r OK", a.Ask($"ds pub u32 {k80} 1"));
        Assert.Equal("r OK 1", a.Ask($"ds get u32 {k80}"));
        Assert.Equal("r EINVAL", a.Ask($"ds pub u32 {k80}x 1"));
        Assert.StartsWith("r EINVAL", a.Ask($"ds get u32 {k80}x"));
        Assert.Equal("r OK", a.Ask("ds pub u32 ab 1"));
        Assert.Equal("r EINVAL", a.Ask("ds pub u32 a 1"));
        Assert.Equal("r EINVAL", a.Ask("ds pub u32 clé 1"));
        Assert.Equal("r EINVAL", a.Ask("ds pub str s seventeen-chars-x"));
    }

    [Fact]
    public void EveryReply_CarriesItsRequestsTag()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        // Success, a refusal after the key was read, and a refusal before anything was read:
        // the answer names its request whatever the handler wrote (RS's DsOutbox relies on it).
        Assert.Equal("r OK 4000000001", a.Ask($"ds tagged 4000000001 {DsCall.Publish} counter"));
        Assert.Equal("r OK 17", a.Ask($"ds tagged 17 {DsCall.Retrieve} counter"));
        Assert.Equal("r ESRCH 18", a.Ask($"ds tagged 18 {DsCall.Retrieve} nothing"));
        Assert.Equal("r ENOSYS 19", a.Ask($"ds tagged 19 {DsCall.Base + 99} counter"));
    }

    [Fact]
    public void Requests_MalformedFields_EinvalBeforeAnyChange()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        int pub = DsCall.Publish, get = DsCall.Retrieve;
        // Flags: unknown bits, no type, two types, MAP, INITIAL on publish.
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 100000"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 0"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 u32,str"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 map"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 u32,initial"));
        // Values: STR over 16 bytes or negative, MEM over 64 KiB.
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 str 0 0 0 0 0 17"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 str 0 0 0 0 0 -1"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 mem 0 {DsLimits.MaxMemLength + 1}"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 4 mem 0 -5"));
        // Key lengths outside 2..80, checked before the grant is touched.
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 -1 u32"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {pub} 0 100000 u32"));
        // Retrieve: snapshot for a non-MEM type, negative snapshot, unknown type.
        Assert.Equal("r EINVAL", a.Ask($"ds raw {get} 0 4 u32 0 0 0 0 1"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {get} 0 4 mem 0 0 0 0 -1"));
        Assert.Equal("r EINVAL", a.Ask($"ds raw {get} 0 4 0"));
        Assert.Equal("r ENOSYS", a.Ask($"ds raw {DsCall.Base + 99} 0 4 u32"));
    }

    [Fact]
    public void Grants_ForgedOrMissing_FailWithoutChange()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var b = DsKit.Client(sys, rs, "beta");
        // A grant id the caller never made: the kernel refuses DS's copy, DS answers its error.
        Assert.NotEqual("r OK", a.Ask($"ds raw {DsCall.Publish} 5 4 u32"));
        Assert.NotEqual("r OK", a.Ask($"ds raw {DsCall.Publish} -1 4 u32"));
        Assert.NotEqual("r OK", a.Ask($"ds raw {DsCall.Retrieve} 12345 4 u32"));
        Assert.NotEqual("r OK", a.Ask($"ds raw {DsCall.Check} 777 80 0"));
        Assert.Equal("r OK", b.Ask("ds pub u32 still.works 1"));
        Assert.Equal("r OK 1", a.Ask("ds get u32 still.works"));
    }
}
