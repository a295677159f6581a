// Tests of the service utility's command line (src/Commands/Service/ServiceCommandLine.cs,
// thesis Fig. 2.4) and of the host-side pieces around it that need no running instance: every
// option of `up` and `update` lands in the ServiceSpec, label/image/path defaults, every usage
// error; the control-socket argument quoting (ControlArgs), the host's path absolutization,
// the <run>/bin/service wrapper's quoting, and the `log --restarts` table (RestartLog).
using Bulkhead.Commands.Service;
using Bulkhead.Host.Commands;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Commands.Tests.Service;

public sealed class ServiceCommandTests
{
    private const string ImageDir = "/opt/bulkhead/bin";
    private const string Cwd = "/home/admin";

    private static ServiceCommandLine Parse(params string[] args) => ServiceCommandLine.Parse(args, ImageDir, Cwd);

    private static ServiceSpec Up(params string[] args)
    {
        var cl = Parse(args);
        Assert.True(cl.Ok, cl.Error);
        return cl.Spec!;
    }

    [Fact]
    public void Up_BinaryOnly_DefaultsFromFig24()
    {
        var cl = Parse("up", "/usr/sbin/rtl8139");
        Assert.True(cl.Ok, cl.Error);
        Assert.Equal(ServiceVerb.Up, cl.Verb);
        Assert.Equal("rtl8139", cl.Label);
        var s = cl.Spec!;
        Assert.Equal("rtl8139", s.Label);
        Assert.Equal("/usr/sbin/rtl8139", s.Binary);
        Assert.Equal("", s.Args);
        Assert.Equal(0, s.PeriodMs);
        Assert.Equal("", s.Recovery);
        Assert.False(s.Mirror);
        Assert.Equal("", s.Isolation);
        Assert.Equal("", s.Policy);
        Assert.Equal("", s.Dev);
        Assert.False(s.NoBackoff);
    }

    [Fact]
    public void Up_EveryOption_LandsInTheSpec()
    {
        var s = Up("up", "/bin/drv", "-args", "-v  -x 3", "-label", "eth0", "-period", "2.5", "-recovery", "/etc/rs.sh",
                   "-mirror", "true", "-isolation", "/etc/my.conf", "-dev", "/dev/eth0", "-policy", "rtl8139", "-nobackoff");
        Assert.Equal("eth0", s.Label);
        Assert.Equal("/bin/drv", s.Binary);
        Assert.Equal("-v  -x 3", s.Args);
        Assert.Equal(2500, s.PeriodMs);
        Assert.Equal("/etc/rs.sh", s.Recovery);
        Assert.True(s.Mirror);
        Assert.Equal("/etc/my.conf", s.Isolation);
        Assert.Equal("/dev/eth0", s.Dev);
        Assert.Equal("rtl8139", s.Policy);
        Assert.True(s.NoBackoff);
    }

    [Fact]
    public void Up_SpecText_RoundTripsThroughServiceSpec()
    {
        var s = Up("up", "image:testdrv", "-args", "fast", "-period", "1", "-mirror", "true", "-nobackoff");
        Assert.True(ServiceSpec.TryParse(s.Format(), out var back, out string error), error);
        Assert.Equal((s.Label, s.Binary, s.Args, s.PeriodMs, s.Mirror, s.NoBackoff),
                     (back.Label, back.Binary, back.Args, back.PeriodMs, back.Mirror, back.NoBackoff));
    }

    /// <summary>Issue 9: no -period means RS's default (Fig. 2.4, 5 s); `-period 0` means none
    /// and survives the trip to RS; -recovery's words after the script are its parameters.</summary>
    [Fact]
    public void Up_PeriodDefaultAndZero_AndRecoveryParameters()
    {
        Assert.Equal(0, Up("up", "/bin/drv").PeriodMs);
        var s = Up("up", "/bin/drv", "-period", "0", "-recovery", "/etc/rs/generic.sh -a root -b 2");
        Assert.Equal(ServiceSpec.NoHeartbeats, s.PeriodMs);
        Assert.Equal("/etc/rs/generic.sh -a root -b 2", s.Recovery);
        Assert.True(ServiceSpec.TryParse(s.Format(), out var back, out string error), error);
        Assert.Equal((ServiceSpec.NoHeartbeats, s.Recovery), (back.PeriodMs, back.Recovery));
    }

    [Fact]
    public void Up_OptionsInAnyOrderAndDoubleDash_AreAccepted()
    {
        var s = Up("up", "/bin/drv", "--period", "5", "--label", "d1", "-mirror", "false");
        Assert.Equal(("d1", 5000, false), (s.Label, s.PeriodMs, s.Mirror));
    }

    [Fact]
    public void Up_ImageBinary_IsBulkheadImageWithComponentFirst()
    {
        var s = Up("up", "image:testdrv", "-args", "a b");
        Assert.Equal(ImageDir + "/bulkhead-image", s.Binary);
        Assert.Equal("testdrv a b", s.Args);
        Assert.Equal("testdrv", s.Label);
        Assert.Equal("testdrv", Up("up", "image:testdrv").Args);
        Assert.Equal("t2", Up("up", "image:testdrv", "-label", "t2").Label);
    }

    [Fact]
    public void Up_RelativePaths_AreMadeAbsolute()
    {
        var s = Up("up", "drivers/x", "-recovery", "etc/r.sh", "-isolation", "../p.conf");
        Assert.Equal("/home/admin/drivers/x", s.Binary);
        Assert.Equal("x", s.Label);
        Assert.Equal("/home/admin/etc/r.sh", s.Recovery);
        Assert.Equal("/home/p.conf", s.Isolation);
    }

    [Fact]
    public void DownRefreshRestart_TakeOneLabel()
    {
        Assert.Equal((ServiceVerb.Down, "eth0"), (Parse("down", "eth0").Verb, Parse("down", "eth0").Label));
        Assert.Equal(ServiceVerb.Refresh, Parse("refresh", "eth0").Verb);
        Assert.Equal(ServiceVerb.Restart, Parse("restart", "eth0").Verb);
        Assert.Null(Parse("restart", "eth0").Spec);
    }

    [Fact]
    public void Update_LabelThenBinaryAndOptions()
    {
        var cl = Parse("update", "eth0", "image:testdrv", "-args", "v2", "-period", "3");
        Assert.True(cl.Ok, cl.Error);
        Assert.Equal(ServiceVerb.Update, cl.Verb);
        Assert.Equal("eth0", cl.Label);
        Assert.Equal("eth0", cl.Spec!.Label);
        Assert.Equal(ImageDir + "/bulkhead-image", cl.Spec.Binary);
        Assert.Equal("testdrv v2", cl.Spec.Args);
        Assert.Equal(3000, cl.Spec.PeriodMs);
    }

    [Fact]
    public void List_TakesNothing()
    {
        Assert.Equal(ServiceVerb.List, Parse("list").Verb);
        Assert.True(Parse("list").Ok);
    }

    [Theory]
    [InlineData("no command")]
    [InlineData("unknown command 'start'", "start", "x")]
    [InlineData("'list' takes no arguments", "list", "x")]
    [InlineData("'down' takes exactly one label", "down")]
    [InlineData("'restart' takes exactly one label", "restart", "a", "b")]
    [InlineData("bad label 'a b'", "refresh", "a b")]
    [InlineData("bad label 'sixteen-chars-xx'", "down", "sixteen-chars-xx")]
    [InlineData("'up' needs a binary", "up")]
    [InlineData("'up' needs a binary", "up", "-label", "x")]
    [InlineData("unknown option '-verbose'", "up", "/bin/x", "-verbose")]
    [InlineData("unexpected argument 'extra'", "up", "/bin/x", "extra")]
    [InlineData("option '-args' needs a value", "up", "/bin/x", "-args")]
    [InlineData("option '-label' given twice", "up", "/bin/x", "-label", "a", "--label", "b")]
    [InlineData("bad label 'a/b'", "up", "/bin/x", "-label", "a/b")]
    [InlineData("bad label 'toolongbinaryname'", "up", "/bin/toolongbinaryname")]
    [InlineData("bad period '-1'", "up", "/bin/x", "-period", "-1")]
    [InlineData("bad period 'soon'", "up", "/bin/x", "-period", "soon")]
    [InlineData("bad period '3601'", "up", "/bin/x", "-period", "3601")]
    [InlineData("bad -mirror value 'yes'", "up", "/bin/x", "-mirror", "yes")]
    [InlineData("empty -recovery script", "up", "/bin/x", "-recovery", "")]
    [InlineData("empty -isolation file", "up", "/bin/x", "-isolation", "")]
    [InlineData("empty -dev node", "up", "/bin/x", "-dev", "")]
    [InlineData("bad policy entry 'a b'", "up", "/bin/x", "-policy", "a b")]
    [InlineData("bad image component 'image:'", "up", "image:")]
    [InlineData("may not contain a line break", "up", "/bin/x", "-args", "a\nb")]
    [InlineData("'update' needs a label and a binary", "update", "eth0")]
    [InlineData("'update' takes the label before the binary", "update", "eth0", "/bin/x", "-label", "y")]
    [InlineData("'update' needs a label and a binary", "update", "-x", "/bin/y")]
    [InlineData("bad label 'a:b'", "update", "a:b", "/bin/y")]
    public void Parse_UsageError_NamesTheMistake(string expected, params string[] args)
    {
        var cl = Parse(args);
        Assert.False(cl.Ok);
        Assert.Null(cl.Spec);
        Assert.Contains(expected, cl.Error);
    }

    [Fact]
    public void Usage_ShowsEveryVerbAndOption()
    {
        foreach (var word in new[] { "up", "down", "refresh", "restart", "update", "list", "-args", "-label", "-period",
                                     "-recovery", "-mirror", "-isolation", "-dev", "-policy", "-nobackoff" })
            Assert.Contains(word, ServiceCommandLine.Usage);
    }

    [Fact]
    public void WithAbsolutePaths_RewritesBinaryScriptAndPolicyFileOnly()
    {
        string[] args = ["up", "drv", "-args", "rel/arg", "-nobackoff", "-recovery", "r.sh", "-label", "d", "--isolation", "p.conf"];
        Assert.Equal(["up", "/w/drv", "-args", "rel/arg", "-nobackoff", "-recovery", "/w/r.sh", "-label", "d", "--isolation", "/w/p.conf"],
                     ServiceCommandLine.WithAbsolutePaths(args, "/w"));
        Assert.Equal(["up", "image:testdrv"], ServiceCommandLine.WithAbsolutePaths(["up", "image:testdrv"], "/w"));
        Assert.Equal(["update", "x", "/w/b"], ServiceCommandLine.WithAbsolutePaths(["update", "x", "b"], "/w"));
        Assert.Equal(["restart", "x"], ServiceCommandLine.WithAbsolutePaths(["restart", "x"], "/w"));
    }

    [Theory]
    [InlineData()]
    [InlineData("up", "image:testdrv", "-args", "a \"quoted\" b\\c", "")]
    [InlineData("x\ty\nz\r", " lead", "trail ")]
    public void ControlArgs_SplitInvertsJoin(params string[] args)
    {
        string line = ControlArgs.Join("service", args);
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("service", line);
        Assert.Equal(args, ControlArgs.Split(line["service".Length..]));
    }

    [Theory]
    [InlineData(" \"open")]
    [InlineData(" bare")]
    [InlineData(" \"a\"\"b\"")]
    [InlineData(" \"bad \\q escape\"")]
    public void ControlArgs_Malformed_IsNull(string rest) => Assert.Null(ControlArgs.Split(rest));

    [Fact]
    public void ServiceTable_AlignsRsColumns()
    {
        string t = ServiceCommand.Table("LABEL ENDPOINT STATE\ntestdrv 16400 running\n");
        Assert.Equal("LABEL    ENDPOINT  STATE\ntestdrv  16400     running\n", t);
        Assert.Contains("(no services)", ServiceCommand.Table("LABEL ENDPOINT\n"));
    }

    [Fact]
    public void RestartLog_KeepsOnlyRestartLinesAsTable()
    {
        string[] log =
        [
            "[     1.000] kernel: testdrv (endpoint 16400, pid 5) killed by signal 6",
            "[     1.052] rs: restart label=testdrv incarnation=2 cause=exception backoff_ms=0 failed_at=1000 restarted_at=1052 endpoint=49168",
            "[     3.000] rs: up testdrv: endpoint 16400",
            "[    12.500] rs: restart label=eth0 incarnation=7 cause=no-heartbeat backoff_ms=4000 failed_at=8400 restarted_at=12500 endpoint=16401 extra=1",
        ];
        var rows = RestartLog.Rows(log);
        Assert.Equal(2, rows.Count);
        Assert.Equal(["1.052", "testdrv", "2", "exception", "0", "1000", "1052", "49168"], rows[0]);
        Assert.Equal(["12.500", "eth0", "7", "no-heartbeat", "4000", "8400", "12500", "16401"], rows[1]);
        var lines = RestartLog.Format(log).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("TIME", lines[0].TrimStart()); // numeric columns are right-aligned
        Assert.Contains("LABEL", lines[0]);
        Assert.Contains("no-heartbeat", lines[2]);
        Assert.Single(RestartLog.Format(["nothing here"]).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void RestartLog_MissingFields_ShowDash()
    {
        var row = RestartLog.Rows(["rs: restart label=a"]).Single();
        Assert.Equal(["-", "a", "-", "-", "-", "-", "-", "-"], row);
    }

    [Fact]
    public void Wrapper_QuotesForShell()
    {
        Assert.Equal("'/a b/c'", Bulkhead.Kernel.Main.Boot.ServiceWrapper.Quote("/a b/c"));
        Assert.Equal("'it'\\''s'", Bulkhead.Kernel.Main.Boot.ServiceWrapper.Quote("it's"));
    }
}
