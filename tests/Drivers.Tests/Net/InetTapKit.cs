// A card wired to a Linux TAP in a namespace the test makes (TapLink), its driver started by RS
// under the label etc/rc gives it, and INET started by RS with etc/inet.conf — the network a
// booted instance has, in a test's kernel. Addresses: INET's end of each card and Linux's.
using Bulkhead.Lib.Config;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Net;

public sealed class InetTapKit : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    public RsSystem Rs { get; }
    public TapLink Tap { get; }
    /// <summary>The driver's label (eth0 for dp8390, eth1 for rtl8139).</summary>
    public string Label { get; }
    /// <summary>INET's address on the card, and Linux's at the other end.</summary>
    public string Inet { get; }
    public string Linux { get; }

    /// <summary>The driver's label in etc/rc and etc/inet.conf, INET's address and Linux's on that card.</summary>
    public static (string Label, string Inet, string Linux) Addresses(string driver) => driver switch
    {
        "dp8390" => ("eth0", "10.0.2.15", "10.0.2.1"),
        _ => ("eth1", "10.0.3.15", "10.0.3.1"),
    };

    private InetTapKit(RsSystem rs, TapLink tap, string label, string inet, string linux)
    {
        Rs = rs;
        Tap = tap;
        Label = label;
        Inet = inet;
        Linux = linux;
    }

    /// <param name="killedOften">The driver will be killed again and again (Fig. 5.16's
    /// workload): RS restarts it at once every time (no backoff, no restart-intensity limit),
    /// as the thesis's experiment has it.</param>
    public static InetTapKit Boot(Xunit.Abstractions.ITestOutputHelper output, string driver, bool killedOften = false)
    {
        var card = NetTestKit.CardNamed(driver);
        var (label, inet, linux) = Addresses(driver);
        var tap = TapLink.Open();
        RsSystem? rs = null;
        try
        {
            rs = killedOften ? card.Boot(output, tap.Backend, Mac, "max_failures=100000") : card.Boot(output, tap.Backend, Mac);
            tap.Up();
            tap.AddAddress(linux + "/24");
            var up = rs.Manager.Ask("rs-spec up " + card.UpSpec(label) + (killedOften ? ";nobackoff=1" : ""));
            Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
            rs.WaitState(label, "running");
            string conf = Path.Combine(TestSystem.RepoRoot(), "etc", "inet.conf");
            Assert.True(ConfigArgument.TryEncode("inet.conf", File.ReadAllText(conf), out string word, out string why), why);
            up = rs.Manager.Ask($"rs-spec up label=inet;binary={RsSystem.Image};args=inet {word};policy=inet");
            Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
            rs.WaitState("inet", "running");
            var kit = new InetTapKit(rs, tap, label, inet, linux);
            TestSystem.WaitUntil(() => kit.Attachments() >= 1, "INET to attach its driver");
            return kit;
        }
        catch
        {
            rs?.Dispose();
            tap.Dispose();
            throw;
        }
    }

    /// <summary>How often INET has attached an instance of the driver (console lines).</summary>
    public int Attachments() =>
        Rs.Sys.Console.Lines.Count(l => l.Contains($"inet: {Label}: driver {Label} (", StringComparison.Ordinal) && l.Contains(" up, ", StringComparison.Ordinal));

    public void Dispose()
    {
        Rs.Dispose();
        Tap.Dispose();
    }
}
