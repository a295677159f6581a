// A stopped RS holds up nothing but itself (issue 9, §3): while RS's host process is stopped
// (`kill -STOP`), `ps` shows the kernel's table at once, without the service columns and with
// a line saying RS does not answer; `service list` fails within a bounded time with "RS
// (endpoint 2) does not answer" and leaves no `service` process behind; once RS is continued,
// `ps` shows the service columns again. RS is continued whatever happens in between.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;

namespace Bulkhead.System.Tests;

public sealed class StoppedRsTests : IDisposable
{
    private const int SigStop = 19, SigCont = 18;
    private const string Silent = "RS (endpoint 2) does not answer";

    private readonly HostInstance _host = new();

    public void Dispose() => _host.Dispose();

    /// <summary>Names in the NAME column of a `ps` listing, each with its number of fields.</summary>
    private static Dictionary<string, int> Rows(string ps)
    {
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in ps.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 9 && f[0] != "RS") rows[f[2]] = f.Length;
        }
        return rows;
    }

    private bool Eth1HasServiceColumns() =>
        _host.TryProcesses().TryGetValue("eth1", out var row) && row.ContainsKey("SVC_STATE");

    [Fact]
    public void Ps_WhileRsIsStopped_ShowsTheKernelsTableAtOnce_AndServiceFailsClearly_LeavingNoProcess()
    {
        _host.Ok("boot", "--detach");
        TestSystem.WaitUntil(Eth1HasServiceColumns, "eth1 under RS (etc/rc)", 60_000);
        int rs = int.Parse(_host.Processes()["rs"]["PID"], CultureInfo.InvariantCulture);

        try
        {
            Assert.Equal(0, Native.kill(rs, SigStop));
            TestSystem.WaitUntil(() => HostState(rs) is 'T' or 't', "RS's host process stopped", 5_000);

            var clock = Stopwatch.StartNew();
            var (status, ps) = _host.Run("ps");
            clock.Stop();
            Assert.True(status == 0, ps);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"ps took {clock.Elapsed.TotalSeconds:F1} s while RS was stopped:\n{ps}");
            Assert.Contains(Silent, ps);
            Assert.Contains("service columns left out", ps);
            var rows = Rows(ps);
            foreach (var name in new[] { "pm", "rs", "ds", "init", "eth0", "eth1" })
                Assert.True(rows.ContainsKey(name), $"ps has no row for {name}:\n{ps}");
            Assert.True(rows["eth1"] == 9, $"eth1's row has service columns although RS does not answer:\n{ps}");

            clock.Restart();
            var (listStatus, list) = _host.Run("service", "list");
            clock.Stop();
            Assert.True(listStatus == 1, $"service list exited {listStatus}: {list}");
            Assert.Contains("service: " + Silent, list);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"service list took {clock.Elapsed.TotalSeconds:F1} s while RS was stopped");

            string last = "";
            TestSystem.WaitUntil(() => !Rows(last = _host.Run("ps").Output).ContainsKey("service"),
                                 "no service process left in the kernel's table", 5_000);
            Assert.Contains(Silent, last);
        }
        finally
        {
            Native.kill(rs, SigCont);
        }

        string after = "";
        TestSystem.WaitUntil(() => Rows(after = _host.Run("ps").Output).TryGetValue("eth1", out int n) && n > 9,
                             "ps with the service columns again once RS runs", 20_000);
        Assert.DoesNotContain(Silent, after);
    }

    /// <summary>The state letter of host process <paramref name="pid"/> (/proc/PID/stat), or '?'.</summary>
    private static char HostState(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return '?';
        }
    }
}
