// A booted instance as a user runs it (bulkhead-host with etc/boot.conf): the kernel process is
// bulkhead-kernel, which `boot` runs with its arguments and exit status passed through; detach,
// ps and shutdown leave no host process behind, and neither does killing the kernel outright.
using System.Diagnostics;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;

namespace Bulkhead.System.Tests;

public sealed class InstanceTests : IDisposable
{
    private readonly string _run = Path.Combine(Path.GetTempPath(), $"bulkhead-test-run-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private (int Status, string Output) RunHost(params string[] args) => HostTool.Run(_run, args);

    /// <summary>Host processes whose parent is <paramref name="pid"/>.</summary>
    private static List<int> ChildrenOf(int pid)
    {
        var kids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int p)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[1], global::System.Globalization.CultureInfo.InvariantCulture) == pid) kids.Add(p);
            }
            catch (IOException) { }
        }
        return kids;
    }

    [Fact]
    public void DetachPsShutdown_LeavesNoProcess()
    {
        var (status, output) = RunHost("boot", "--detach");
        Assert.True(status == 0, output);
        int kernel = int.Parse(File.ReadAllText(Path.Combine(_run, "kernel.pid")).Trim(), global::System.Globalization.CultureInfo.InvariantCulture);
        TestSystem.WaitUntil(() => ChildrenOf(kernel).Count >= 2, "boot processes running");
        var components = ChildrenOf(kernel);
        // The kernel process is bulkhead-kernel (src/Kernel/Main), not the host client.
        Assert.Equal("bulkhead-kernel", Path.GetFileName(new FileInfo($"/proc/{kernel}/exe").LinkTarget));

        var ps = RunHost("ps");
        Assert.Equal(0, ps.Status);
        Assert.Contains("init", ps.Output);
        Assert.Contains("echo", ps.Output);

        var down = RunHost("shutdown");
        Assert.True(down.Status == 0, down.Output);
        TestSystem.WaitUntil(() => !HostProcess.Exists(kernel) && components.All(c => !HostProcess.Exists(c)), "every process gone");
        Assert.False(File.Exists(Path.Combine(_run, "control.sock")));
    }

    [Fact]
    public void Boot_UnknownArgument_KernelRefusesWithBootUsage()
    {
        var (status, output) = RunHost("boot", "--detach", "--bogus");
        Assert.Equal(2, status);
        Assert.Contains("boot: unknown argument '--bogus' (usage: boot [--detach] [--config FILE] [--tap DEV=IFNAME]...)", output);
        Assert.False(File.Exists(Path.Combine(_run, "kernel.pid")));
    }

    /// <summary>The `stats --devices` row of <paramref name="device"/>, split on blanks.</summary>
    private string[] DeviceRow(string device)
    {
        var (status, output) = RunHost("stats", "--devices");
        Assert.True(status == 0, output);
        return output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                     .FirstOrDefault(f => f.Length > 0 && f[0] == device) ?? [];
    }

    [Fact]
    public void StatsDevices_ShowsEachDevicesDriver_AndTheRtl8139sDmaDomain_AcrossARestart()
    {
        var (status, output) = RunHost("boot", "--detach");
        Assert.True(status == 0, output);
        try
        {
            // etc/rc starts both drivers; the RTL8139's reserves its device and maps 19 pages (a 64 KiB ring with its slack, 4 transmit buffers).
            // Columns: DEVICE MODEL WHERE(2 or 4 words) IRQ MAC DRIVER DMA_FRAMES DMA_DENIED BACKEND.
            string[] row = [];
            TestSystem.WaitUntil(() => (row = DeviceRow("eth1")).Length == 12 && row[8].StartsWith("eth1(", StringComparison.Ordinal) && row[9] == "19",
                "eth1 driving its RTL8139 with its DMA region mapped");
            Assert.Equal(["eth1", "rtl8139", "pci", "00:03.0", "io", "0xc000", "11"], row[..7]);
            Assert.Equal(("0", "none"), (row[10], row[11]));
            var eth0 = DeviceRow("eth0");
            Assert.Equal(["eth0", "ne2000", "io", "0x300", "9"], eth0[..5]);
            Assert.StartsWith("eth0(", eth0[6]);
            Assert.Equal(("-", "-"), (eth0[7], eth0[8]));

            // Kill the RTL8139's driver: RS resets the old DMA domain, the new instance maps its own.
            string first = row[8];
            var ps = RunHost("ps").Output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                                  .First(f => f.Length > 3 && f[2] == "eth1");
            Assert.Equal(0, Native.kill(int.Parse(ps[3], global::System.Globalization.CultureInfo.InvariantCulture), 9));
            TestSystem.WaitUntil(() => (row = DeviceRow("eth1")).Length == 12 && row[8].StartsWith("eth1(", StringComparison.Ordinal) && row[8] != first,
                "eth1 back under a new endpoint");
            // Only the new instance's 19 frames: nothing of the dead instance's domain is left (RS
            // resets it; the IOMMU driver also resets a domain whose owner lost the device).
            TestSystem.WaitUntil(() => (row = DeviceRow("eth1"))[9] == "19", "the new DMA region mapped");
            Assert.Equal("0", row[10]);
        }
        finally
        {
            RunHost("shutdown");
        }
    }

    [Fact]
    public void KernelKilled_NoComponentSurvives()
    {
        var psi = new ProcessStartInfo(HostTool.Path) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--root", TestSystem.RepoRoot(), "--run", _run, "boot" }) psi.ArgumentList.Add(a);
        using var kernel = Process.Start(psi)!;
        try
        {
            TestSystem.WaitUntil(() => ChildrenOf(kernel.Id).Count >= 2, "boot processes running");
            var components = ChildrenOf(kernel.Id);
            kernel.Kill(); // SIGKILL: no chance to clean up
            Assert.True(kernel.WaitForExit(10_000));
            TestSystem.WaitUntil(() => components.All(c => !HostProcess.Exists(c)), "components gone after the kernel died");
        }
        finally
        {
            if (!kernel.HasExited) kernel.Kill();
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_run, recursive: true); }
        catch (IOException) { }
    }
}
