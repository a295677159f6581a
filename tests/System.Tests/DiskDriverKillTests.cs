// The README's disk-driver demo (thesis §4.3.1): sha1sum of a 64 MiB file on the root file
// system while the disk driver c0d0 is killed with SIGKILL, twice; RS restarts it, VFS and MFS
// reissue what was pending, and sha1sum prints the SHA-1 Linux's sha1sum gives the bytes written
// — the program notices nothing. The file is far larger than MFS's cache, so its reads reach
// the driver; the kills land while sha1sum runs (checked), and ps shows the restarts.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Tests.Harness;
using Xunit.Abstractions;

namespace Bulkhead.System.Tests;

public sealed class DiskDriverKillTests(ITestOutputHelper output)
{
    [Fact]
    public void Sha1sum_DiskDriverKilledTwice_SameChecksum()
    {
        using var bh = new FileInstance();
        int seed = Environment.TickCount & 0x7FFFFFFF;
        output.WriteLine($"seed {seed}");
        var data = new byte[64 << 20];
        new Random(seed).NextBytes(data);
        Assert.Equal(0, bh.RunBytes(data, "dd", "of=/tmp/big.bin", "bs=1M").Status);
        bh.Ok("sync");
        string expected = $"{LinuxSha1.Of(data, bh.Host.RunDir)}  /tmp/big.bin\n";

        // The driver's pid is looked up before each kill is due (a `ps` takes a while), and the
        // kills follow each other as soon as the new driver runs: the read is fast.
        int DriverPid(int old)
        {
            int pid = 0;
            TestSystem.WaitUntil(() => bh.Host.TryProcesses().TryGetValue("c0d0", out var row) &&
                                       int.TryParse(row["PID"], NumberStyles.None, CultureInfo.InvariantCulture, out pid) && pid != old,
                                 "c0d0 to be running", 30_000);
            return pid;
        }
        int pid = DriverPid(0);
        var sum = Task.Run(() => bh.Run("sha1sum", "/tmp/big.bin"));
        int kills = 0;
        for (int i = 0; i < 2; i++)
        {
            if (i == 0) Thread.Sleep(100);
            if (sum.IsCompleted) break;
            using (var p = Process.GetProcessById(pid)) p.Kill();
            kills++;
            pid = DriverPid(pid);
        }
        Assert.True(sum.Wait(180_000), "sha1sum did not finish");
        var (status, stdout, stderr) = sum.Result;
        output.WriteLine($"{kills} kills; {stdout}{stderr}");
        Assert.True(kills >= 1, "sha1sum ended before the first kill: nothing was tested");
        Assert.True(status == 0, stderr + bh.Host.LogTail());
        Assert.Equal(expected, stdout);
        TestSystem.WaitUntil(() => bh.Host.TryProcesses().TryGetValue("c0d0", out var row) && row.GetValueOrDefault("RESTARTS") == kills.ToString(CultureInfo.InvariantCulture),
                             $"ps to show c0d0 restarted {kills} times", 30_000);
    }
}
