// Recovery scripts (thesis §4.2.1, Fig. 4.2): instead of restarting a failed service itself,
// RS runs `/bin/sh <script> <label> <reason> <count>` and leaves the restart to the script
// (`service restart <label>`); a script that ends without restarting it, or hangs past the
// script time-out, leaves the service failed. The script runs as a confined host program
// (docs/confinement.md): its own uid, no network, a read-only view of the host's programs and
// of TestSystem.ScriptDir, where these tests put the scripts and the files they wait for.
// Inside these tests no `service` command can reach the kernel, so the manager puppet plays
// the script's `service restart`; the generic script etc/rs/generic.sh is run directly with
// stand-ins for `service` and `sleep`.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class RecoveryScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = MakeDir();

    private static string MakeDir()
    {
        string dir = Path.Combine(TestSystem.ScriptDir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755
        return dir;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Script(string name, string body)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, body);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, (UnixFileMode)0x1A4); // 0644: read by an unprivileged uid
        return path;
    }

    private static void Crash(RsSystem rs, string label)
    {
        int ep = RsKit.Ep(rs.Row(label));
        Puppet.Await(rs.Client.AskAsync($"td {ep} fail {TestDriverCall.Exit}"));
    }

    /// <summary>The kernel's row of the running script of <paramref name="label"/>.</summary>
    private static Lib.Sys.ProcInfo ScriptRow(RsSystem rs, string label)
    {
        Lib.Sys.ProcInfo row = default;
        TestSystem.WaitUntil(() => rs.Sys.Kernel.ProcessTable().Any(p =>
        {
            row = p;
            return p.Name.ToString() == "script:" + label && p.State != Lib.Sys.ProcState.Zombie;
        }), "the script runs");
        return row;
    }

    [Fact]
    public void Script_GetsLabelReasonCount_AndDecidesTheRestart()
    {
        string go = Path.Combine(_dir, "go");
        // Status 9 would mean the arguments were not "<script> testdrv exit 1".
        string script = Script("record.sh", $"[ \"$0 $*\" = \"{Path.Combine(_dir, "record.sh")} testdrv exit 1\" ] || exit 9\nwhile [ ! -e {go} ]; do sleep 0.05; done\nexit 0\n");
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        var row = ScriptRow(rs, "testdrv");
        Assert.Equal(Lib.Sys.ProcInfo.ConfinedFlag, row.Confinement & Lib.Sys.ProcInfo.ConfinedFlag);
        Assert.NotEqual(0u, row.HostUid);
        Assert.Equal("recovering", rs.Row("testdrv")[2]);
        // What the script's `service restart testdrv` does.
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs restart testdrv"));
        File.WriteAllText(go, "");
        var restarted = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("exit", restarted[4]);
        Assert.NotEqual(ep, RsKit.Ep(restarted));
        // The script ended after restarting it: the service is not marked failed.
        TestSystem.WaitUntil(() => !rs.Sys.Kernel.ProcessTable().Any(p => p.Name.ToString() == "script:testdrv"), "the script ended");
        RsKit.Holds(() => rs.Row("testdrv")[2] == "running", 300, "testdrv stays running");
        Assert.False(rs.Sys.Console.Has("marked failed"), rs.Console());
    }

    /// <summary>Issue 9 (§4.2.1): the administrator's parameters reach the script after label,
    /// reason and count; and the script, not RS's failure limit, decides what repeated failures
    /// mean — here it restarts the service every time, far past max_failures.</summary>
    [Fact]
    public void Script_GetsTheAdministratorsParameters_AndDecidesRepeatedFailures()
    {
        // The script sees the host read-only: it says what it got by how it ends. Wrong
        // arguments: status 9 at once (the service is marked failed); a wrong count: it waits
        // for a file that never comes (killed at the time-out, marked failed).
        string script = Script("params.sh",
            $"[ \"$*\" = \"testdrv exit $3 -a root@example -b 0\" ] || exit 9\nwhile [ ! -e {_dir}/go.$3 ]; do sleep 0.05; done\n");
        using var rs = new RsSystem(output, "max_failures=2", "script_timeout_ms=10000");
        rs.Up("testdrv", $"recovery={script} -a root@example -b 0");
        for (int failure = 1; failure <= 4; failure++)
        {
            Crash(rs, "testdrv");
            ScriptRow(rs, "testdrv");
            Assert.Equal("recovering", rs.Row("testdrv")[2]);
            // What the script's `service restart testdrv` would do (scripts here cannot reach RS).
            Assert.StartsWith("r OK OK", rs.Manager.Ask("rs restart testdrv"));
            File.WriteAllText(Path.Combine(_dir, $"go.{failure}"), "");
            rs.WaitRestarts("testdrv", failure);
            TestSystem.WaitUntil(() => !rs.Sys.Kernel.ProcessTable().Any(p => p.Name.ToString() == "script:testdrv"), "the script ended");
        }
        Assert.False(rs.Sys.Console.Has("marked failed"), rs.Console());
        Assert.True(rs.Sys.Console.Has("recovery script " + script + " testdrv exit 4 -a root@example -b 0"), rs.Console());
    }

    [Fact]
    public void Script_ExitsNonZeroWithoutRestart_ServiceFailed_AndCouldNotWriteTheHost()
    {
        string written = Path.Combine(_dir, "written");
        // A confined script sees the host read-only and has no network: status 3 means both held.
        string script = Script("fail.sh", $"if echo x > {written} 2>/dev/null; then exit 7; fi\nif echo x > /tmp/bulkhead-script-escape 2>/dev/null; then exit 8; fi\nexit 3\n");
        using var rs = new RsSystem(output);
        rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        rs.WaitState("testdrv", "failed");
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: recovery script exited with status 3 without restarting it"), rs.Console());
        Assert.False(File.Exists(written));
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs refresh testdrv"));
        Assert.Equal("restart", rs.WaitRestarts("testdrv", 1)[4]);
    }

    [Fact]
    public void Script_Hangs_KilledAfterTimeout_WithEverythingItStarted_ServiceFailed()
    {
        // The script starts a child of its own and waits: both must go when RS gives up on it.
        string script = Script("hang.sh", "sleep 60 &\nsleep 60\n");
        using var rs = new RsSystem(output, "script_timeout_ms=1500");
        rs.Up("testdrv", $"recovery={script}");
        Crash(rs, "testdrv");
        var row = ScriptRow(rs, "testdrv");
        TestSystem.WaitUntil(() => HostProcess.OfUid(row.HostUid).Count >= 3, "the script and its sleeps run");
        rs.WaitState("testdrv", "failed");
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: recovery script hung, killed after 1500 ms"), rs.Console());
        TestSystem.WaitUntil(() => HostProcess.OfUid(row.HostUid).Count == 0, "the hung script and its children killed");
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
