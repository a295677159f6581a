// The recovery suite (thesis §4.1–4.2, in the spirit of MINIX's testrelpol.sh): fault the
// test driver in every way of Fig. 4.1 and check that RS brings it back with a new endpoint,
// the right reason and restart count, and that it serves requests again.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class RecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public void Up_TestDriver_ServesRequests()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv");
        var a = rs.Client.Ask($"td {ep} write 42");
        Assert.StartsWith("r OK OK", a);
        Assert.StartsWith($"r OK OK 2 42 {ep} well-formed", rs.Client.Ask($"td {ep} read"));
        var row = rs.Row("testdrv");
        Assert.Equal(ep.ToString(global::System.Globalization.CultureInfo.InvariantCulture), row[1]);
        Assert.Equal("0", row[3]);
    }

    [Theory]
    [InlineData(TestDriverCall.BadPointer, "exception")]
    [InlineData(TestDriverCall.WildPointer, "exception")]
    [InlineData(TestDriverCall.DivideByZero, "exception")]
    [InlineData(TestDriverCall.Panic, "panic")]
    [InlineData(TestDriverCall.Exit, "exit")]
    public void Fault_IsRestartedWithNewEndpointAndReason(int mode, string reason)
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv");
        _ = rs.Client.AskAsync($"td {ep} fail {mode}");
        TestSystem.WaitUntil(() => rs.Row("testdrv") is { Length: > 3 } r && r[3] == "1" && r[2] == "running", "restarted once");
        var row = rs.Row("testdrv");
        Assert.Equal(reason, row[4]);
        int ep2 = int.Parse(row[1], global::System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(ep, ep2);
        Assert.StartsWith($"r OK OK 1 0 {ep2} well-formed", rs.Client.Ask($"td {ep2} read"));
        Assert.True(rs.Sys.Console.Has("rs: restart label=testdrv incarnation=2 cause=" + reason), string.Join("\n", rs.Sys.Console.Lines));
    }
}
