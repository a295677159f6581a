// Checks RS makes before acting (thesis §2.2, Fig. 2.4): management requests only from the
// service utility (never from a service), unknown labels, malformed specifications, missing
// binaries, and device conflicts between isolation policies; every refusal carries an
// explanation written back into the caller's buffer.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Rs;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class RequestTests(ITestOutputHelper output) : IDisposable
{
    // RS reads policy files as an unprivileged uid of its own (docs/confinement.md): 0755.
    private readonly string _dir = WorldReadable(Directory.CreateTempSubdirectory("bulkhead-rs-requests-").FullName);

    private static string WorldReadable(string dir)
    {
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(dir, (UnixFileMode)0x1ED);
        return dir;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(RsCall.Up)]
    [InlineData(RsCall.Down)]
    [InlineData(RsCall.Refresh)]
    [InlineData(RsCall.Restart)]
    [InlineData(RsCall.Update)]
    public void ServiceSendingManagementRequest_IsRefused(int call)
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        // Refresh and restart are open to services for the drivers their policy names (the
        // `driver` key); this request names none and is refused as unreadable instead.
        Assert.Equal(call is RsCall.Refresh or RsCall.Restart ? "r OK EINVAL" : "r OK EPERM", rs.Client.Ask($"td-askrs {drv} {call}"));
        Assert.Equal("running", rs.Row("testdrv")[2]);
        Assert.Equal(drv, RsKit.Ep(rs.Row("testdrv")));
    }

    /// <summary>Issue 9: DS, RS and PM count what they refuse in the kernel's denial table as
    /// "request rejected by target" (thesis Fig. 5.5), as the kernel and the bus drivers do.</summary>
    [Fact]
    public void RefusalsOfDsRsAndPm_AreCountedAsRequestsRejectedByTarget()
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        long before = rs.Sys.Kernel.Denials()[(int)Lib.Sys.Denial.RequestRejected];
        long clientBefore = rs.Sys.Find(rs.Client.Endpoint)!.Value.Denials;
        Assert.Equal("r EPERM", rs.Client.Ask($"ds pub label fake {rs.Client.Endpoint}"));     // DS: LABEL only from RS
        Assert.Equal("r OK EPERM", rs.Client.Ask($"td-askrs {drv} {RsCall.Up}"));                  // RS: services start no services
        var pm = rs.Client.Ask($"sendrec3 {Lib.Ipc.Endpoint.Pm} {Lib.Pm.PmCall.Start} 0 0 0");      // PM: only RS starts processes
        Assert.Equal("EPERM", Lib.Ipc.Err.Name(int.Parse(Puppet.Field(pm, 3), System.Globalization.CultureInfo.InvariantCulture)));
        TestSystem.WaitUntil(() => rs.Sys.Kernel.Denials()[(int)Lib.Sys.Denial.RequestRejected] >= before + 3, "three refusals counted");
        Assert.True(rs.Sys.Find(rs.Client.Endpoint)!.Value.Denials >= clientBefore + 2, "the client's own count");
        Assert.Equal("running", rs.Row("testdrv")[2]);
    }

    [Fact]
    public void BadRequests_AreRefusedWithExplanation()
    {
        using var rs = new RsSystem(output);
        // (The puppet announces the label's own length as its buffer, so the explanation is cut
        // to that; the service utility announces a label-sized buffer.)
        var a = rs.Manager.Ask("rs down nosuch");
        Assert.Equal("ESRCH", Puppet.Field(a, 2));
        Assert.EndsWith(" no ser", a);
        Assert.Equal("ESRCH", Puppet.Field(rs.Manager.Ask("rs refresh nosuch"), 2));

        a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};frobnicate=1");
        Assert.Equal("EINVAL", Puppet.Field(a, 2));
        Assert.Contains("unknown key 'frobnicate'", a);
        a = rs.Manager.Ask($"rs up label=bad/label;binary={RsSystem.Image}");
        Assert.Equal("EINVAL", Puppet.Field(a, 2));
        Assert.Contains("bad label", a);
        a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};period=-5");
        Assert.Equal("EINVAL", Puppet.Field(a, 2));
        Assert.Contains("bad period", a);

        a = rs.Manager.Ask("rs up label=testdrv;binary=/nonexistent/driver;args=testdrv");
        Assert.Equal("ENOENT", Puppet.Field(a, 2));
        Assert.Contains("no binary '/nonexistent/driver'", a);

        // The JIT build of bulkhead-image is an apphost that needs its .dll: it cannot run from memory.
        a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};args=testdrv;mirror=1");
        Assert.Equal("EINVAL", Puppet.Field(a, 2));
        Assert.Contains("-mirror needs a self-contained binary", a);
        Assert.Empty(rs.Row("testdrv"));

        a = rs.Manager.Ask($"rs up label=nopolicy;binary={RsSystem.Image};args=testdrv");
        Assert.Equal("ESRCH", Puppet.Field(a, 2));
        Assert.Contains("no policy 'nopolicy'", a);

        rs.Up("testdrv");
        a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};args=testdrv");
        Assert.Equal("EEXIST", Puppet.Field(a, 2));
        Assert.Equal("running", rs.Row("testdrv")[2]);
    }

    private string ConflictingPolicies()
    {
        string file = Path.Combine(_dir, "drivers.conf");
        const string Body = """
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB;
            ipc targets RS DS;
            ipc kernel SYSCTL TIMES SETALARM GETINFO SETGRANT;
            """;
        File.WriteAllText(file, $$"""
            driver isa1 {
            {{Body}}
                isa io 300:20;
            };
            driver isa2 {
            {{Body}}
                isa io 310:10;
            };
            """);
        return file;
    }

    [Fact]
    public void OverlappingDevices_SecondUpRefusedWithBusy()
    {
        using var rs = new RsSystem(output);
        string conf = ConflictingPolicies();
        rs.Up("isa1", $"isolation={conf}");
        var a = rs.Manager.Ask($"rs up label=isa2;binary={RsSystem.Image};args=testdrv;isolation={conf}");
        Assert.Equal("EBUSY", Puppet.Field(a, 2));
        Assert.Contains("of policy 'isa1' (running service 'isa1')", a);
        Assert.Empty(rs.Row("isa2"));
        // Another service under the same policy entry would get the same ports.
        a = rs.Manager.Ask($"rs up label=isa1b;policy=isa1;binary={RsSystem.Image};args=testdrv;isolation={conf}");
        Assert.Equal("EBUSY", Puppet.Field(a, 2));
        Assert.Contains("of policy 'isa1' (running service 'isa1')", a);

        // Once isa1 is down its ports are free.
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs down isa1"));
        TestSystem.WaitUntil(() => rs.Row("isa1").Length == 0, "isa1 gone");
        rs.Up("isa2", $"isolation={conf}");
    }
}
