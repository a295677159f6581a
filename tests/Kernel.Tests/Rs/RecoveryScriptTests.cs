// Recovery scripts (thesis §4.2.1, Fig. 4.2): instead of restarting a failed service itself,
// RS runs `/bin/sh <script> <label> <reason> <count>` and leaves the restart to the script
// (`service restart <label>`); a script that ends without restarting it, or hangs past the
// script time-out, leaves the service failed. Inside these tests no `service` command can
// reach the kernel, so the manager puppet plays the script's `service restart`; the generic
// script etc/rs/generic.sh is run directly with stand-ins for `service` and `sleep`.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Kernel.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Kernel.Tests.Rs;

public sealed class RecoveryScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bulkhead-rs-scripts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Script(string name, string body)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, body);
        return path;
    }

    private static void Crash(RsSystem rs, string label)
    {
        int ep = RsKit.Ep(rs.Row(label));
        Puppet.Await(rs.Client.AskAsync($"td {ep} fail {TestDriverCall.Exit}"));
    }

    [Fact]
    public void Script_GetsLabelReasonCount_AndDecidesTheRestart()
    {
        string args = Path.Combine(_dir, "args"), go = Path.Combine(_dir, "go");
        string script = Script("record.sh", $"echo \"$0 $*\" > {args}.tmp && mv {args}.tmp {args}\nwhile [ ! -e {go} ]; do sleep 0.05; done\nexit 0\n");
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        TestSystem.WaitUntil(() => File.Exists(args), "the script ran");
        Assert.Equal($"{script} testdrv exit 1", File.ReadAllText(args).Trim());
        Assert.Equal("recovering", rs.Row("testdrv")[2]);
        // What the script's `service restart testdrv` does.
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs restart testdrv"));
        File.WriteAllText(go, "");
        var row = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("exit", row[4]);
        Assert.NotEqual(ep, RsKit.Ep(row));
        // The script ended after restarting it: the service is not marked failed.
        RsKit.Holds(() => rs.Row("testdrv")[2] == "running", 300, "testdrv stays running");
        Assert.False(rs.Sys.Console.Has("marked failed"), rs.Console());
    }

    [Fact]
    public void Script_ExitsNonZeroWithoutRestart_ServiceFailed()
    {
        string script = Script("fail.sh", "exit 3\n");
        using var rs = new RsSystem(output);
        rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        rs.WaitState("testdrv", "failed");
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: recovery script exited with status 3"), rs.Console());
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs refresh testdrv"));
        Assert.Equal("restart", rs.WaitRestarts("testdrv", 1)[4]);
    }

    [Fact]
    public void Script_Hangs_KilledAfterTimeout_ServiceFailed()
    {
        string pidFile = Path.Combine(_dir, "pid");
        string script = Script("hang.sh", $"echo $$ > {pidFile}.tmp && mv {pidFile}.tmp {pidFile}\nsleep 60\n");
        using var rs = new RsSystem(output, "script_timeout_ms=500");
        rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        TestSystem.WaitUntil(() => File.Exists(pidFile), "the script ran");
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        rs.WaitState("testdrv", "failed");
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: recovery script hung, killed after 500 ms"), rs.Console());
        TestSystem.WaitUntil(() => !HostProcess.Exists(pid), "the hung script killed");
    }

    /// <summary>Runs etc/rs/generic.sh with `service` and `sleep` replaced by recorders.</summary>
    private (int Status, string[] Calls, string Mail) Generic(params string[] args)
    {
        string bin = Path.Combine(_dir, "bin"), calls = Path.Combine(_dir, "calls"), mail = Path.Combine(_dir, "mail.log");
        Directory.CreateDirectory(bin);
        foreach (var f in new[] { calls, mail }) File.Delete(f);
        foreach (var cmd in new[] { "service", "sleep" })
        {
            File.WriteAllText(Path.Combine(bin, cmd), $"#!/bin/sh\necho \"{cmd} $*\" >> {calls}\n");
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(bin, cmd), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(TestSystem.RepoRoot(), "etc", "rs", "generic.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["BULKHEAD_RUN"] = _dir;
        using var p = Process.Start(psi)!;
        Assert.True(p.WaitForExit(10_000));
        return (p.ExitCode, File.Exists(calls) ? File.ReadAllLines(calls) : [], File.Exists(mail) ? File.ReadAllText(mail) : "");
    }

    [Fact]
    public void GenericScript_BacksOffExponentially_ThenRestarts()
    {
        var (status, calls, mail) = Generic("testdrv", "exit", "1");
        Assert.Equal(0, status);
        Assert.Equal(["sleep 1", "service restart testdrv"], calls);
        Assert.Equal("", mail);
        Assert.Equal(["sleep 8", "service restart testdrv"], Generic("testdrv", "no-heartbeat", "4").Calls);
        Assert.Equal(["sleep 12", "service restart testdrv"], Generic("testdrv", "panic", "3", "-b", "3").Calls);
        // No backoff for an explicitly requested update.
        Assert.Equal(["service restart testdrv"], Generic("testdrv", "update", "2").Calls);
    }

    [Fact]
    public void GenericScript_WithAddress_AppendsAlert()
    {
        var (status, calls, mail) = Generic("testdrv", "exception", "2", "-a", "root@example", "-b", "0");
        Assert.Equal(0, status);
        Assert.Equal(["sleep 0", "service restart testdrv"], calls);
        Assert.Contains("to=root@example", mail);
        Assert.Contains("failure: testdrv, exception, 2; restart status: 0", mail);
    }
}
