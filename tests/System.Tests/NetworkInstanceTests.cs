// A booted instance on a real network, as the README's walkthrough runs it: `boot --tap
// eth1=IFNAME` puts eth1 (the RTL8139) on a Linux TAP, whose Linux end the test moves into a namespace of its own
// with 10.0.3.1/24 (root only; TapFact skips otherwise). etc/rc has started the drivers, INET
// and the daytime server; programs run with `bulkhead-host run`, their stdin, stdout and stderr
// passed to the instance. Linux reaches Bulkhead's daytime server, Bulkhead pings Linux and
// fetches a file from python3's http.server; and INET killed with SIGKILL is brought back by its
// recovery script (etc/rs/inet.sh), which restarts the daytime server after it: a program
// blocked in a socket call gets an error at once, and new connections work again.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Tests.Harness;
using Xunit.Abstractions;

namespace Bulkhead.System.Tests;

public sealed class NetworkInstanceTests(ITestOutputHelper output) : IDisposable
{
    private const string Inet = "10.0.3.15", Linux = "10.0.3.1";
    private readonly HostInstance _host = new();
    private readonly string _tap = $"bhs{Environment.ProcessId % 10000}";
    private NetNamespace? _ns;
    private readonly List<Process> _servers = [];

    public void Dispose()
    {
        foreach (var p in _servers)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        _host.Dispose();
        _ns?.Dispose();
    }

    private void Boot()
    {
        _host.Ok("boot", "--detach", "--tap", $"eth1={_tap}");
        _ns = NetNamespace.Create();
        _ns.Adopt(_tap, Linux + "/24");
        TestSystem.WaitUntil(() => _host.TryProcesses() is var ps && ps.TryGetValue("daytimed", out var d) && d.GetValueOrDefault("SVC_STATE") == "running" &&
                                   _host.Run("log").Output.Contains("inet: eth1: driver eth1 (", StringComparison.Ordinal),
                             "etc/rc to start INET on eth1 and daytimed", 60_000);
    }

    /// <summary>`bulkhead-host run ARGS` with its stdio on pipes: status, stdout, stderr.</summary>
    private static Process StartRun(string runDir, params string[] args)
    {
        var psi = new ProcessStartInfo(HostTool.Path) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "--root", TestSystem.RepoRoot(), "--run", runDir, "run" }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private (int Status, string Stdout, string Stderr) Run(params string[] args)
    {
        using var p = StartRun(_host.RunDir, args);
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), $"run {string.Join(' ', args)} did not finish");
        output.WriteLine($"$ run {string.Join(' ', args)} → {p.ExitCode}\n{stdout}{err.Result}");
        return (p.ExitCode, stdout, err.Result);
    }

    /// <summary>A daytime answer from Bulkhead's server to a Linux client (socat), or null.</summary>
    private string? LinuxDaytime()
    {
        var (code, stdout, _) = _ns!.Exec(["socat", "-T", "2", "-", $"TCP:{Inet}:13,connect-timeout=1"], 10_000);
        return code == 0 && stdout.Contains("UTC", StringComparison.Ordinal) ? stdout.Trim() : null;
    }

    [Fact]
    public void BootTap_UnknownDeviceOrBadName_IsRefusedWithTheReason()
    {
        var (status, text) = _host.Run("boot", "--detach", "--tap", "eth9=bh0");
        Assert.Equal(1, status);
        Assert.Contains("boot: --tap eth9=bh0: ", text);
        Assert.Contains("has no network device 'eth9' (it has: eth0, eth1)", text);
        (status, text) = _host.Run("boot", "--detach", "--tap", "eth1=a-name-far-too-long");
        Assert.NotEqual(0, status);
        Assert.Contains("--tap takes DEVICE=IFNAME", text);
    }

    [TapFact]
    public void BootedOnTap_LinuxAndBulkheadTalk_ThroughRunAndRc()
    {
        Boot();
        string? line = LinuxDaytime();
        Assert.True(line is not null, "Linux got no daytime from Bulkhead's daytimed\n" + _host.LogTail());
        Assert.Contains(DateTime.UtcNow.Year.ToString(CultureInfo.InvariantCulture), line);

        var ping = Run("ping", "-c", "3", "-i", "100", Linux);
        Assert.Equal(0, ping.Status);
        Assert.Contains("3 packets transmitted, 3 received", ping.Stdout);
        var linuxPing = _ns!.Exec(["ping", "-c", "3", "-i", "0.2", "-W", "2", Inet]);
        Assert.True(linuxPing.Code == 0, linuxPing.Stdout + linuxPing.Stderr);

        string dir = Directory.CreateTempSubdirectory("bulkhead-http-").FullName;
        try
        {
            var data = new byte[3 << 20];
            new Random(5).NextBytes(data);
            File.WriteAllBytes(Path.Combine(dir, "f.bin"), data);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            _servers.Add(_ns.Serve(["python3", "-m", "http.server", "8080", "--bind", Linux], dir));
            TestSystem.WaitUntil(() => _ns.Exec(["ss", "-ltnH", "sport = :8080"]).Stdout.Trim().Length > 0, "http.server to listen");
            var wget = Run("wget", "-O", "-", "-q", $"http://{Linux}:8080/f.bin");
            Assert.Equal(0, wget.Status);
            Assert.Contains($"sha256 {Convert.ToHexStringLower(SHA256.HashData(data))}", wget.Stderr);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        var stats = _host.Ok("stats", "--net");
        Assert.Contains("interface eth1 10.0.3.15/24 driver eth1", stats);
        Assert.Contains("frames-in ", stats);
    }

    [TapFact]
    public void KilledInet_ItsScriptRestartsItAndDaytimed_BlockedProgramGetsAnError()
    {
        Boot();
        Assert.NotNull(LinuxDaytime());
        // A program blocked in a socket call (nc waiting for a connection).
        using var nc = StartRun(_host.RunDir, "nc", "-l", "7002");
        nc.StandardInput.Close();
        var ncErr = nc.StandardError.ReadToEndAsync();
        Thread.Sleep(1000);
        Assert.False(nc.HasExited, "nc -l did not wait for a connection");

        var ps = _host.Processes();
        string inetEp = ps["inet"]["ENDPOINT"], daytimedEp = ps["daytimed"]["ENDPOINT"];
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(int.Parse(ps["inet"]["PID"], CultureInfo.InvariantCulture)).Kill();

        Assert.True(nc.WaitForExit(10_000), "nc still blocked after INET died");
        Assert.Equal(1, nc.ExitCode);
        Assert.Contains("EDEADSRCDST", ncErr.Result);

        string? line = null;
        while (clock.ElapsedMilliseconds < 30_000 && (line = LinuxDaytime()) is null) Thread.Sleep(50);
        double seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"daytime answered again {seconds:F2} s after INET was killed");
        Assert.True(line is not null, "daytimed never answered again\n" + _host.LogTail());
        ps = _host.Processes();
        Assert.NotEqual(inetEp, ps["inet"]["ENDPOINT"]);
        Assert.NotEqual(daytimedEp, ps["daytimed"]["ENDPOINT"]);
        Assert.Contains("inet.sh", _host.Run("log").Output);
        Assert.True(seconds < 10, $"recovery took {seconds:F1} s");
    }
}
