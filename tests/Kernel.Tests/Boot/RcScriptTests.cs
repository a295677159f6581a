// init's start-up script (src/Commands/Init/RcScript.cs): the shipped etc/rc parses into valid
// `service up` command lines for the machine's drivers, and the word splitter keeps quoted
// arguments whole and reports what it cannot read. Running the script is covered by booted
// instances (HostileStatsTests waits for the drivers etc/rc starts).
using Bulkhead.Commands.Service;

namespace Bulkhead.Kernel.Tests.Boot;

public sealed class RcScriptTests
{
    private static List<string> Split(string line)
    {
        Assert.True(Bulkhead.Commands.Init.RcScript.TrySplit(line, out var words, out string? error), error);
        return words;
    }

    [Fact]
    public void Split_KeepsQuotedWordsWhole_AndStopsAtComments()
    {
        Assert.Equal(["service", "up", "image:dp8390", "-args", "io=0x300 irq=9"], Split("service up image:dp8390 -args \"io=0x300 irq=9\"  # eth0"));
        Assert.Empty(Split("   # only a comment"));
        Assert.Empty(Split(""));
        Assert.Equal(["a#b"], Split("\"a#b\""));
        Assert.Equal(["x", ""], Split("x \"\""));
        Assert.False(Bulkhead.Commands.Init.RcScript.TrySplit("service up \"open", out _, out string? error));
        Assert.Equal("unterminated '\"'", error);
    }

    [Fact]
    public void ShippedRc_StartsTheMachinesDriversUnderTheirPolicies()
    {
        string rc = Path.Combine(Harness.TestSystem.RepoRoot(), "etc", "rc");
        var specs = new List<Bulkhead.Lib.Rs.ServiceSpec>();
        foreach (var line in File.ReadAllLines(rc))
        {
            var words = Split(line);
            if (words.Count == 0) continue;
            Assert.Equal("service", words[0]);
            var cl = ServiceCommandLine.Parse(words.Skip(1).ToList(), imageDirectory: AppContext.BaseDirectory);
            Assert.True(cl.Ok, $"{line}: {cl.Error}");
            Assert.Equal(ServiceVerb.Up, cl.Verb);
            specs.Add(cl.Spec!);
        }
        Assert.Equal(["eth0", "eth1"], specs.Select(s => s.Label));
        Assert.Equal(["dp8390", "rtl8139"], specs.Select(s => s.Policy));
        Assert.Equal("dp8390 io=0x300 irq=9", specs[0].Args);
    }
}
