// DS's garbage stays bounded (issue 9 §3). The runtime collects generation 0 only after its
// budget (2 MiB on the reference VM, more on machines with a large cache) of allocations, so a
// server allocating a few hundred bytes per request kept every request's garbage resident for
// thousands of requests; HeapBound collects after every 256 KiB. Each overwrite of a 4 KiB MEM
// value leaves 4 KiB of garbage: 16 rounds of 25 overwrites, and the anonymous resident memory
// of DS must not keep growing over the last ten rounds (the first ones hold the one-off growth of the
// first collections), apart from a one-off step or three (the runtime's own: tiered compilation,
// a thread stack). Measured on the reference VM, KiB per round from round 6 on:
//   without HeapBound  5956 6060 6164 … 6916 (+104 per round, until the runtime's own collection)
//   with HeapBound     5568 5568 5568 … 5568
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Servers;

namespace Bulkhead.Servers.Tests.Ds;

[Collection(DsKit.Collection)]
public sealed class DsHeapTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Overwrites_GarbageBeyondTheBound_ResidentMemoryLevelsOff()
    {
        using var sys = new TestSystem(output: output);
        var rs = DsKit.Boot(sys);
        var a = DsKit.Client(sys, rs, "alpha");
        var rss = new List<long>();
        for (int round = 0; round < 16; round++)
        {
            for (int i = 0; i < 25; i++) Assert.Equal("r OK", a.Ask($"ds pub mem big @4096:{i + 1} overwrite"));
            rss.Add(HostRss.AnonKiB(sys, Endpoint.Ds));
        }
        output.WriteLine("DS RssAnon (KiB) after each 25 overwrites: " + string.Join(' ', rss));
        HostRss.AssertLevelsOff(rss, from: 6, steps: 3, "DS");
    }
}
