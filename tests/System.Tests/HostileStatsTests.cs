// The hostile-driver test on a booted instance, as a user would run it (issue 4, "Done when":
// `./bulkhead stats --denials` prints the Fig. 5.5-style table after the hostile-driver test).
// bulkhead-host boots etc/boot.conf in a run directory of its own; init's etc/rc starts the dp8390
// driver on the NE2000 the configuration defines (eth0, io 0x300, irq 9) and the rtl8139 driver
// on its RTL8139 (eth1); then RS starts the hostile
// driver (bulkhead-testproc hostile-driver, HostileDriver.cs) under a policy the test writes
// into the run directory and names with `-isolation` — the ports and IRQ of a third card,
// MAPDMA, IPC to RS, DS and the trusted PCI-bus and IOMMU drivers, no PCI device. It is also
// told where the RTL8139 of etc/boot.conf is (eth1, as the PCI-bus driver logged it at boot;
// its driver is not started). It tries every Fig. 3.1 attack once on its own — the DMA and
// PCI ones refused by the trusted drivers, which count them in the kernel's table, and the
// host ones (Linux system calls outside its seccomp allowlist, docs/confinement.md) refused
// by the jail's filter and counted by the kernel in the "host" row — checks each denial
// itself and logs one summary line. The test then asserts that the driver saw every attack
// denied, that every Fig. 5.5 row except the CPU ones (the "host" row included) was attacked,
// that `stats --denials` grew by exactly the attempts made in each row and not at all in the
// CPU rows (and prints the table), and that the rest of the system did not notice: every process
// has the pid and endpoint it had before, the dp8390 driver was never restarted, and the
// hostile driver itself is running, never restarted.
using System.Globalization;
using System.Text.RegularExpressions;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;
using Xunit.Abstractions;

namespace Bulkhead.System.Tests;

public sealed class HostileStatsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string TestProc = Path.Combine(AppContext.BaseDirectory, "bulkhead-testproc");

    /// <summary>The hostile driver's policy: a third card's ports and line (IRQ 5, shared with no
    /// device), driver kernel calls with MAPDMA, IPC to RS, DS, PCI and IOMMU only, no SENDA, no
    /// `pci device` (so RS gives the PCI-bus driver no ACL for it).</summary>
    private const string Policy = """
        # The hostile driver of HostileStatsTests: a card at 0x340 on IRQ 5 that does not exist.
        driver hostile {
            isa io 340:20;
            isa irq 5;
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB;
            ipc targets RS DS PCI IOMMU;
            ipc kernel DEVIO VDEVIO IRQCTL MAPDMA SETGRANT SAFECOPY SYSCTL GETINFO;
        };
        """;

    /// <summary>Categories of Fig. 5.5 the hostile driver must have attacked: all but the CPU
    /// ones (a driver that crashes is not counted by itself, and RS would restart it) — memory,
    /// device I/O, IPC and host (HostCallNotAllowed: a Linux system call outside the allowlist).</summary>
    private static readonly Denial[] Attacked = [.. Enum.GetValues<Denial>().Where(d => DenialText.Group(d) != "CPU")];

    /// <summary>The PCI-bus driver's boot line for the RTL8139 (eth1 in etc/boot.conf):
    /// "pci: 00:03.0 10ec:8139 class 020000 io 0xc000/256 irq 11".</summary>
    private static readonly Regex PciRtl8139 = new(@"pci: ([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) 10ec:8139 class [0-9a-f]+ io 0x([0-9a-f]+)/\d+ irq (\d+)", RegexOptions.CultureInvariant);

    /// <summary>The processes that must not notice the attack: the boot servers, the trusted PCI-bus
    /// and IOMMU drivers (which refused part of it), init, echo, the dp8390 driver.</summary>
    private static readonly string[] Bystanders = ["pm", "ds", "rs", "pci", "iommu", "init", "echo", "eth0", "eth1"];

    private readonly string _run = Path.Combine(Path.GetTempPath(), $"bulkhead-test-hostile-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private (int Status, string Output) RunHost(params string[] args) => HostTool.Run(_run, args);

    private string Ok(params string[] args)
    {
        var (status, text) = RunHost(args);
        Assert.True(status == 0, $"bulkhead-host {string.Join(' ', args)} exited {status}: {text}");
        return text;
    }

    public void Dispose()
    {
        if (File.Exists(Path.Combine(_run, "control.sock"))) RunHost("shutdown");
        try { Directory.Delete(_run, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void HostileDriverUnderRs_IsDeniedEveryAttack_StatsShowIt_AndNobodyElseNotices()
    {
        Ok("boot", "--detach");
        WaitService("eth0"); // init starts the machine's drivers from etc/rc
        WaitService("eth1");
        var all = Processes();
        foreach (var name in Bystanders)
            Assert.True(all.ContainsKey(name), $"{name} is not in ps before the attack:\n{Ok("ps")}");
        var before = Bystanders.ToDictionary(n => n, n => all[n]);
        var baseline = Denials(Ok("stats", "--denials"));

        // The RTL8139 as the PCI-bus driver found it: requester id, I/O window, interrupt line.
        var rtl = LogLines().Select(l => PciRtl8139.Match(l)).FirstOrDefault(m => m.Success);
        Assert.True(rtl is not null, "the PCI-bus driver logged no RTL8139 at boot (eth1 in etc/boot.conf)");
        int bdf = (Hex(rtl.Groups[1].Value) << 8) | (Hex(rtl.Groups[2].Value) << 3) | Hex(rtl.Groups[3].Value);
        string pci = $"pci-dev=0x{bdf:x} pci-io=0x{rtl.Groups[4].Value} pci-irq={rtl.Groups[5].Value}";
        Assert.True(rtl.Groups[5].Value != "5", $"the RTL8139 is on IRQ 5, the hostile driver's own line: {rtl.Value}");

        string conf = Path.Combine(_run, "hostile.conf");
        File.WriteAllText(conf, Policy + "\n");
        string peers = string.Join(',', new[] { "echo", "init", "eth0" }.Select(n => before[n].Endpoint));
        Ok("service", "up", TestProc, "-label", "hostile", "-policy", "hostile", "-isolation", conf,
           "-args", $"hostile-driver own-io=0x340 own-irq=5 victim-io=0x300 victim-irq=9 {pci} peers={peers}");
        string summary = "";
        TestSystem.WaitUntil(() => (summary = LogLines().LastOrDefault(l => l.Contains("hostile: summary ", StringComparison.Ordinal)) ?? "").Length > 0,
            "the hostile driver's summary in the system log", 60_000);

        // The driver saw each of its attacks refused with the expected error and counted.
        var log = LogLines().Where(l => l.Contains("hostile: ", StringComparison.Ordinal)).ToList();
        foreach (var l in log) output.WriteLine(l);
        var undenied = log.Where(l => l.Contains("hostile: NOT DENIED", StringComparison.Ordinal)).ToList();
        Assert.True(undenied.Count == 0, "attacks that were not denied:\n" + string.Join('\n', undenied));
        WaitService("hostile");
        var (attempts, denied, byCategory) = ParseSummary(summary);
        Assert.True(attempts == denied && attempts > 0, summary);
        foreach (var d in Attacked)
            Assert.True(byCategory.GetValueOrDefault(d) > 0, $"the hostile driver made no '{DenialText.Describe(d)}' attack: {summary}");
        Assert.Equal(attempts, byCategory.Values.Sum());

        // The table: every row but the CPU ones is nonzero and grew by exactly the attempts made;
        // the CPU rows did not move (nobody crashed).
        string table = Ok("stats", "--denials");
        output.WriteLine("$ bulkhead stats --denials");
        output.WriteLine(table);
        var after = Denials(table);
        // What the kernel logged of anyone else's denials since boot, to name a stray one.
        string others = string.Join('\n', LogLines().Where(l => l.Contains("kernel: denied ", StringComparison.Ordinal)
                                                             && !l.Contains("kernel: denied hostile (", StringComparison.Ordinal)));
        foreach (var d in Enum.GetValues<Denial>())
        {
            long n = byCategory.GetValueOrDefault(d);
            Assert.True(after[d] - baseline[d] == n,
                $"'{DenialText.Describe(d)}' grew by {after[d] - baseline[d]} during the attack, not {n}; the kernel's denials of other processes since boot:\n{others}");
            if (Attacked.Contains(d)) Assert.True(after[d] > 0, $"'{DenialText.Describe(d)}' shows 0");
        }
        long total = long.Parse(table.Split('\n').Single(r => r.StartsWith("total", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture);
        Assert.Equal(after.Values.Sum(), total);
        Assert.True(total >= attempts, $"total {total} < {attempts} attempts");

        // Nobody else noticed: same processes, same pids and endpoints; no service restarted.
        string ps = Ok("ps");
        output.WriteLine("$ bulkhead ps");
        output.WriteLine(ps);
        var now = Processes();
        foreach (var (name, p) in before)
        {
            Assert.True(now.TryGetValue(name, out var q), $"{name} is gone after the attack:\n{ps}");
            Assert.True(p.Endpoint == q.Endpoint && p.Pid == q.Pid, $"{name} changed from {p} to {q}:\n{ps}");
        }
        Assert.True(now.TryGetValue("hostile", out var hostile) && hostile.Service == "running" && hostile.Restarts == "0",
            $"the hostile driver is not running unrestarted:\n{ps}");
        Assert.True(now["eth0"].Service == "running" && now["eth0"].Restarts == "0", $"eth0 was disturbed:\n{ps}");
        Assert.DoesNotContain(LogLines(), l => l.Contains("rs: restart ", StringComparison.Ordinal));
    }

    private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private void WaitService(string label) =>
        TestSystem.WaitUntil(() => Ok("service", "list").Split('\n').Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var first, _, "running", ..] && first == label),
            $"{label} running", 60_000);

    private string[] LogLines()
    {
        string path = Path.Combine(_run, "system.log");
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(f);
        return r.ReadToEnd().Split('\n');
    }

    private sealed record Proc(string Endpoint, string Pid, string Service, string Restarts);

    /// <summary>`ps` rows by name, each column found by its header (SLOT ENDPOINT NAME PID UID
    /// JAIL STATE LEVEL TRAPS [SVC_STATE RESTARTS REASON]; the last three only on rows of services).</summary>
    private Dictionary<string, Proc> Processes()
    {
        string ps = Ok("ps");
        var lines = ps.Split('\n');
        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int Column(string name)
        {
            int i = Array.IndexOf(header, name);
            Assert.True(i >= 0, $"`ps` has no {name} column:\n{ps}");
            return i;
        }
        int endpoint = Column("ENDPOINT"), name = Column("NAME"), pid = Column("PID"), service = Column("SVC_STATE"), restarts = Column("RESTARTS");
        var rows = new Dictionary<string, Proc>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < header.Length - 3 || f[pid] == "-") continue;
            bool isService = f.Length > restarts;
            rows[f[name]] = new Proc(f[endpoint], f[pid], isService ? f[service] : "", isService ? f[restarts] : "");
        }
        return rows;
    }

    /// <summary>The count column of each row of the `stats --denials` table.</summary>
    private static Dictionary<Denial, long> Denials(string table)
    {
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var counts = new Dictionary<Denial, long>();
        for (int i = 0; i < DenialText.Count; i++)
        {
            var d = (Denial)i;
            string row = Assert.Single(rows, r => r.Contains(" " + DenialText.Describe(d) + " ", StringComparison.Ordinal));
            Assert.StartsWith(DenialText.Group(d), row, StringComparison.Ordinal);
            counts[d] = long.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture);
        }
        return counts;
    }

    /// <summary>"… hostile: summary N attacks, M denied: Category=n …".</summary>
    private static (int Attempts, int Denied, Dictionary<Denial, int> ByCategory) ParseSummary(string line)
    {
        var words = line[(line.IndexOf("hostile: summary ", StringComparison.Ordinal) + "hostile: summary ".Length)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 4 && words[1] == "attacks," && words[3] == "denied:", line);
        var byCategory = new Dictionary<Denial, int>();
        foreach (var w in words[4..])
        {
            var kv = w.Split('=');
            Denial d = default;
            Assert.True(kv.Length == 2 && Enum.TryParse(kv[0], out d), $"bad summary entry '{w}' in: {line}");
            byCategory[d] = int.Parse(kv[1], CultureInfo.InvariantCulture);
        }
        return (int.Parse(words[0], CultureInfo.InvariantCulture), int.Parse(words[2], CultureInfo.InvariantCulture), byCategory);
    }
}
