// The seeded end-to-end SWIFI campaign (thesis §5.1; docs/swifi.md) on each network driver, as
// `./bulkhead swifi run` runs it: an instance on TAP interfaces with Linux peers, random faults
// injected into the running NativeAOT driver trial after trial. It must end with no propagation
// (every other service the same process, running, the kernel answering), every replacement
// recovered (the workload works again), no driver left disrupted, and at least one failure (else the campaign tested
// nothing). Its injections must reproduce from the seed: the faults recorded for each driver
// instance, replayed by number on a copy of the image (ImageCopy), come out byte for byte the same.
// The block campaign (thesis §5.1.3, Fig. 5.9) runs against at_wini on a second disk behind the
// filter driver: no propagation, every replacement recovered, and never a wrong byte read back
// (the filter's checksums turn what a mutated driver damages into retries, complaints or EIO).
// Needs root (TAP, ptrace) and the NativeAOT image, which `./bulkhead test` publishes first.
using Bulkhead.Host.Swifi;
using Bulkhead.Swifi;
using Bulkhead.Tests.Harness;

namespace Bulkhead.System.Tests.Swifi;

public sealed class SwifiCampaignTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bh-swifi-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [TapTheory]
    [InlineData("rtl8139", 11)]
    [InlineData("dp8390", 12)]
    public void SeededCampaign_NoPropagation_EveryFailureRecovered_InjectionsReproduce(string driver, int seed)
    {
        Assert.True(Bulkhead.Host.Bench.BenchHost.TryImage("swifi", out string root, out string image),
                    "no NativeAOT image in out/aot (./bulkhead test publishes it before the tests)");
        string results = Path.Combine(_dir, $"{driver}.jsonl");
        const int Trials = 15, Faults = 4;
        int status = SwifiCampaign.Run(root, new SwifiOptions(["--driver", driver, "--type", "random", "--trials", $"{Trials}", "--faults", $"{Faults}", "--seed", $"{seed}", "--out", results]));
        var (campaign, trials, summary) = SwifiJson.Read(results);
        Assert.Equal(Trials, trials.Count);
        Assert.True(summary is { Completed: true }, "the campaign did not end with a summary of a complete run");
        Assert.Equal(trials.Any(t => t.Restarted), summary.Counters.Keys.Any(k => k.StartsWith("restart ", StringComparison.Ordinal)));
        Assert.All(trials, t => Assert.True(t.Propagation is null, $"trial {t.Trial}: {t.Propagation}"));
        Assert.Equal(0, status);
        // Every replacement brought the workload back; a disrupted driver (the thesis's term: it fails
        // the workload, nothing notices) gets more faults until it fails for good, and the
        // campaign replaces it at the latest at its last trial.
        Assert.All(trials.Where(t => t.Restarted), t => Assert.True(t.Recovered, $"trial {t.Trial} did not recover: {t.WorkloadError}"));
        Assert.True(trials[^1].WorkloadOk || trials[^1].Restarted, "the campaign ended with the driver disrupted");
        Assert.True(trials.Any(t => t.Restarted), "no fault made the driver fail in " + Trials + " trials: the campaign tested nothing");
        Assert.True(trials.Sum(t => t.Faults.Count) >= Trials * Faults / 2, "most faults were never written");

        // Replay every driver instance's faults, in order, on a fresh copy of the image.
        var elf = ElfImage.Load(image);
        var text = DriverText.For(elf, driver);
        var copy = new ImageCopy(elf);
        int replayed = 0;
        foreach (var t in trials)
        {
            foreach (var f in t.Faults)
            {
                var again = Assert.Single(copy.Inject(text, FaultType.Random, campaign.Seed, f.N, 1));
                Assert.Equal((f.Type, f.Function, f.Offset, f.Old, f.New),
                             (again.Mutation.Type.Name(), again.Function, $"0x{again.FunctionOffset:x}", Convert.ToHexString(again.Mutation.Old), Convert.ToHexString(again.Mutation.New)));
                replayed++;
            }
            if (t.Restarted || t.Forced) copy = new ImageCopy(elf);   // the next faults land in a new instance
        }
        Assert.Equal(trials.Sum(t => t.Faults.Count), replayed);
    }

    [Fact]
    public void SeededBlockCampaign_NoPropagation_NoWrongData_EveryFailureRecovered()
    {
        Assert.True(Bulkhead.Host.Bench.BenchHost.TryImage("swifi", out string root, out _),
                    "no NativeAOT image in out/aot (./bulkhead test publishes it before the tests)");
        string results = Path.Combine(_dir, "at_wini.jsonl");
        const int Trials = 12, Faults = 25;
        int status = SwifiCampaign.Run(root, new SwifiOptions(["--driver", "at_wini", "--type", "random", "--trials", $"{Trials}", "--faults", $"{Faults}", "--seed", "21", "--out", results]));
        var (_, trials, summary) = SwifiJson.Read(results);
        Assert.Equal(Trials, trials.Count);
        Assert.All(trials, t => Assert.True(t.Propagation is null, $"trial {t.Trial}: {t.Propagation}"));
        Assert.Equal(0, status);
        Assert.All(trials, t => Assert.False(t.WorkloadError?.StartsWith("read back wrong", StringComparison.Ordinal) == true, $"trial {t.Trial}: {t.WorkloadError}"));
        Assert.All(trials.Where(t => t.Restarted), t => Assert.True(t.Recovered, $"trial {t.Trial} did not recover: {t.WorkloadError}"));
        Assert.True(trials[^1].WorkloadOk || trials[^1].Restarted, "the campaign ended with the driver disrupted");
        Assert.True(trials.Any(t => t.Restarted), "no fault made at_wini fail in " + Trials + " trials: the campaign tested nothing");
        // The summary has Fig. 5.9's sources: RS's restarts by cause (at least one per restarted
        // trial) and the filter's status (its requests to c1d0).
        Assert.True(summary is { Completed: true }, "the campaign did not end with a summary of a complete run");
        Assert.True(summary.Counters.Where(kv => kv.Key.StartsWith("restart ", StringComparison.Ordinal)).Sum(kv => kv.Value) >= trials.Count(t => t.Restarted));
        Assert.True(summary.Counters.GetValueOrDefault("filter sent") > Trials, string.Join(' ', summary.Counters));
        // Unless a request failed for good (EIO, reported), the file system the faulty driver
        // served is consistent: Linux's fsck.minix -f finds nothing (run at the campaign's end).
        if (summary.Counters.GetValueOrDefault("filter failed") == 0)
            Assert.Equal((0L, 0L), (summary.Counters["fsck.minix exit"], summary.Counters["fsck.minix findings"]));
    }
}
