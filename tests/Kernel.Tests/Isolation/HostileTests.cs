// A seeded hostile component floods the kernel with random traps, raw trap pages and kernel
// calls while a well-behaved pair keeps doing SENDREC round trips. The kernel must answer
// every hostile trap, keep serving the pair, and keep its memory bounded. The full count
// (1,000,000) runs by default; BULKHEAD_HOSTILE_TRAPS lowers it on slow CI machines. The seed
// is printed, and BULKHEAD_HOSTILE_SEED reproduces a run.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Xunit.Abstractions;

namespace Bulkhead.Kernel.Tests.Isolation;

public sealed class HostileTests(ITestOutputHelper output)
{
    private static long Count => long.TryParse(Environment.GetEnvironmentVariable("BULKHEAD_HOSTILE_TRAPS"), out long n) ? n : 1_000_000;

    [Fact]
    public void HostileFlood_EveryTrapAnswered_PairKeepsWorking()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("BULKHEAD_HOSTILE_SEED"), out int s) ? s : Random.Shared.Next();
        output.WriteLine($"seed {seed}, {Count} traps (BULKHEAD_HOSTILE_SEED={seed} reproduces)");
        using var sys = new TestSystem(output: output);
        var server = sys.Start("server", "pingpong-server", TestSystem.Privileges(traps: Trap.MaskAll));
        var pairPriv = TestSystem.Privileges(traps: Trap.MaskUser, targets: [server.Endpoint]);

        GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var hostile = sys.Start("hostile", "hostile", TestSystem.Privileges(traps: Trap.MaskAll, calls: TestSystem.InfoCalls),
                                seed.ToString(global::System.Globalization.CultureInfo.InvariantCulture), Count.ToString(global::System.Globalization.CultureInfo.InvariantCulture),
                                server.Endpoint.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        var done = hostile.ReadLineAsync();
        int rounds = 0;
        while (!done.IsCompleted)
        {
            var client = sys.Start("client" + rounds, "pingpong-client", pairPriv,
                                   server.Endpoint.ToString(global::System.Globalization.CultureInfo.InvariantCulture), "500");
            string line = Puppet.Await(client.ReadLineAsync(), 120_000);
            if (!line.StartsWith("rtt ", StringComparison.Ordinal))
                foreach (var l in sys.Console.Lines.TakeLast(20)) output.WriteLine(l);
            Assert.StartsWith("rtt ", line);
            rounds++;
        }
        string result = Puppet.Await(done, 600_000);
        output.WriteLine(result);
        output.WriteLine($"{rounds} rounds of 500 round trips completed meanwhile");
        Assert.StartsWith($"done {Count} ", result);
        Assert.True(rounds >= 1);
        // The hostile process was refused, and only it.
        var table = sys.Kernel.ProcessTable();
        Assert.Equal(0, table.Single(p => p.Endpoint == server.Endpoint).Denials);
        Assert.True(sys.Kernel.Denials().Sum() > Count / 10);
        GC.Collect();
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine($"test-process heap {heapBefore} → {heapAfter} bytes");
        Assert.True(heapAfter - heapBefore < 16 << 20, $"kernel heap grew by {heapAfter - heapBefore} bytes");
    }

    [Fact]
    public void GarbageTrapPages_AreRefusedWithErrors()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("garbage", TestSystem.Privileges(traps: Trap.MaskAll, calls: TestSystem.InfoCalls));
        var rng = new Random(12345);
        var page = new byte[96];
        for (int i = 0; i < 200; i++)
        {
            rng.NextBytes(page);
            page[4] = (byte)(i % 2 == 0 ? 99 : 200); // unknown trap numbers (low byte; high bytes random too)
            string r = p.Ask("raw " + Convert.ToHexString(page));
            Assert.Equal("r EBADCALL", r);
        }
        Assert.Equal(200, sys.Kernel.Denials()[(int)Denial.InvalidPrimitive]);
        Assert.StartsWith($"ep {p.Endpoint}", p.Ask("whoami"));
    }
}
