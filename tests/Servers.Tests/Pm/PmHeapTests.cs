// PM's garbage stays bounded (issue 9 §3; DsHeapTests says why it would not be). A Kill of an
// endpoint that is not PM's child makes PM read the kernel's process table: about 420 bytes of
// garbage per request. 13 rounds of 500 such requests, and the anonymous resident memory of PM
// must not keep growing over the last six rounds (the first ones hold the one-off growth of the
// first collections; a step or two of the runtime's own is allowed, HostRss.AssertLevelsOff). Measured on the reference VM, KiB per round from round 6 on:
//   without HeapBound  5520 5724 5936 6108 … (+210 per round, until the runtime's own collection)
//   with HeapBound     4360 4360 4360 4360 …
using Bulkhead.Kernel;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pm;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers;

namespace Bulkhead.Servers.Tests.Pm;

public sealed class PmHeapTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void KillsOfNonChildren_GarbageBeyondTheBound_ResidentMemoryLevelsOff()
    {
        using var sys = new TestSystem(output: output);
        var pm = TestSystem.Privileges(traps: Trap.MaskAll, flags: PrivilegeBlock.AllTargets | PrivilegeBlock.SysProc,
            calls: [KernelCall.SysCtl, KernelCall.GetInfo, KernelCall.Spawn, KernelCall.Kill, KernelCall.GetKsig]);
        string image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");
        Assert.Equal(Endpoint.Pm, sys.Kernel.Spawn(new ProcessSpec { Name = "pm", Path = image, Args = ["pm"], Slot = Endpoint.Pm, Privileges = pm }));
        var client = sys.StartPuppet("client", TestSystem.Privileges(traps: Trap.MaskAll, flags: PrivilegeBlock.AllTargets));
        var rss = new List<long>();
        for (int round = 0; round < 13; round++)
        {
            // Kill requests whose target is the loop index, never a child of PM: each is refused
            // (ESRCH), which sendrecn counts as "bad".
            Assert.StartsWith("r OK 0 bad:", client.Ask($"sendrecn {Endpoint.Pm} 500 {PmCall.Kill}", 60_000));
            rss.Add(HostRss.AnonKiB(sys, Endpoint.Pm));
        }
        output.WriteLine("PM RssAnon (KiB) after each 500 requests: " + string.Join(' ', rss));
        HostRss.AssertLevelsOff(rss, from: 6, steps: 2, "PM");
    }
}
