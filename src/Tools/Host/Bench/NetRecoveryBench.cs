// `bulkhead bench netrecovery [--json] [--driver rtl8139|dp8390] [--size MiB]`: thesis Fig. 5.16
// (§5.2.2) — throughput of a wget download from a Linux HTTP server while the network driver
// is killed (SIGKILL) every 1, 2, 4, 8 and 15 s, against the same download with no kills, all
// measured in one run on one booted instance so that the ratios compare like with like.
// Setup (NetInstance): a real instance booted from etc/boot.conf with its cards on TAP
// backends, etc/rc starting the drivers and INET; Linux's end of the card's TAP in a network
// namespace running `python3 -m http.server` on a file of --size MiB (default 256) of seeded
// random bytes. Bulkhead's `wget` runs through the control socket's `run` request, as
// `./bulkhead run wget` does, and prints bytes, time and the SHA-256 of what it received.
// Kills: the runner looks the driver's host pid up with `ps` (after each recovery, so the kill
// itself is one kill(2)), and kills it every N seconds from the previous kill — as the
// thesis's script did; RS restarts it from its in-memory copy with no backoff (etc/rc's
// policy), and INET re-attaches it.
// Recovery time: kill → the first frame Bulkhead puts on the wire again, read from Linux's
// receive counter of the TAP (/proc/net/dev in the namespace, polled every 1 ms from 2 ms
// after the kill). Only a driver can make the card transmit, and INET's first act on a new
// driver is a gratuitous ARP and a TCP resend/ACK, so this one point covers RS noticing the
// death, the restart, the driver's initialization, its DS announcement and INET's re-attach
// (Conf, Read posted) — the whole gap in which no frame moves — measured outside Bulkhead,
// by the same clock (CLOCK_MONOTONIC) as the kill, with no help from the code being measured.
// It does not include the TCP-level stall after it (the peer's retransmission), which the
// throughput figures carry.
// Output: per case (none, 1s, 2s, 4s, 8s, 15s) throughput MB/s (10^6 bytes, as wget and the
// thesis), seconds, kills, RS's restart count, mean/median/max recovery ms, SHA-256 match,
// and what INET's counters (`netstat`) moved by: TCP retransmits, RTO timeouts, drops; the
// ratio 1 kill/s ÷ no kills; the issue's goals (no-kill throughput ≥ 10.8 MB/s, ratio ≥ 0.95)
// met or not; a chart like Fig. 5.16 in out/bench/netrecovery-DRIVER.png and .svg.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Bulkhead.Lib.Host;

namespace Bulkhead.Host.Bench;

internal static partial class NetRecoveryBench
{
    private static readonly int[] s_intervals = [0, 1, 2, 4, 8, 15]; // 0: no kills
    public const double GoalMbps = 10.8, GoalRatio = 0.95;
    private const int HttpPort = 8080;

    /// <summary>What one case measured.</summary>
    public sealed record Case(int IntervalS, double Mbps, double Seconds, int Kills, int Restarts, List<double> RecoveryMs,
                              int Unrecovered, bool ChecksumOk, int Status, string Error,
                              (long Retransmits, long FastRetransmits, long Timeouts, long Drops) Tcp,
                              (long Retransmits, long Timeouts, long Recoveries, long Probes) Linux, string DropReasons = "");

    public static int Run(string[] args)
    {
        bool json = args.Contains("--json");
        string driver = BenchHost.Option(args, "--driver") ?? "rtl8139";
        if (driver is not ("rtl8139" or "dp8390"))
        {
            Console.Error.WriteLine($"bench netrecovery: unknown driver '{driver}' (rtl8139 or dp8390)");
            return 2;
        }
        if (!BenchHost.TrySizeMiB(args, "netrecovery", defaultMiB: 256, out int sizeMiB)) return 2;
        int[] intervals = s_intervals;
        if (BenchHost.Option(args, "--intervals") is { } list)
        {
            var parsed = list.Split(',').Select(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : -1).ToArray();
            if (parsed.Any(v => v < 0) || !parsed.Contains(0) || !parsed.Contains(1))
            {
                Console.Error.WriteLine($"bench netrecovery: --intervals takes seconds between kills separated by commas, with 0 (no kills) and 1 among them, not '{list}'");
                return 2;
            }
            intervals = [.. parsed.Distinct().Order()];
        }
        if (!BenchHost.TryImage("netrecovery", out string root, out string image)) return 1;

        using var inst = new NetInstance(root, image);
        var card = inst.CardOf(driver);
        var (dir, name, sha) = inst.RandomFile((long)sizeMiB << 20);
        inst.StartLinux(["python3", "-m", "http.server", HttpPort.ToString(CultureInfo.InvariantCulture), "--bind", card.Linux], dir, drop: true);
        inst.WaitListening(HttpPort);
        string url = $"http://{card.Linux}:{HttpPort}/{name}";
        // Warm-up: ARP, the server's page cache, the first connection.
        var warm = inst.Run(["wget", "-q", $"http://{card.Linux}:{HttpPort}/"], 60);
        if (warm.Status != 0) throw new InvalidOperationException($"bench netrecovery: the warm-up wget failed: {warm.Stdout}{warm.Stderr}\n{inst.Diagnostics()}");

        using var frames = NetInstance.FramesFromBulkhead(inst.Namespace, card.Interface);
        var cases = new List<Case>();
        foreach (int interval in intervals)
        {
            if (!json) Console.Error.WriteLine($"bench netrecovery: {driver}, {sizeMiB} MiB, {(interval == 0 ? "no kills" : $"a kill every {interval} s")}...");
            cases.Add(Measure(inst, card, frames, url, sha, (long)sizeMiB << 20, interval));
        }

        var charts = BenchChart.NetRecovery(root, driver, sizeMiB, cases);
        Print(json, driver, sizeMiB, inst.KernelKind, cases, charts);
        return cases.All(c => c.ChecksumOk) ? 0 : 1;
    }

    private static Case Measure(NetInstance inst, NetInstance.Card card, NetInstance.FrameCounter frames, string url, string sha, long size, int interval)
    {
        int restartsBefore = inst.WaitDriver(card, null).Restarts;
        var countersBefore = inst.InetCounters();
        var linuxBefore = inst.LinuxTcpCounters();
        var wget = Task.Run(() => inst.Run(["wget", "-q", "-T", "120", url], 3600));
        var recovery = new List<double>();
        int kills = 0, unrecovered = 0;
        if (interval > 0)
            kills = inst.KillEvery(card, interval, wget, killed =>
            {
                if (frames.WaitForNext(30) is { } moved) recovery.Add((moved - killed) * 1000.0 / Stopwatch.Frequency);
                else unrecovered++;
            });
        var (status, stdout, stderr) = wget.Result;
        int restarts = inst.WaitDriver(card, null).Restarts - restartsBefore;
        var countersAfter = inst.InetCounters();
        var tcp = NetInstance.TcpDelta(countersBefore, countersAfter);
        string dropReasons = NetInstance.DropReasons(countersBefore, countersAfter);
        var linux = NetInstance.LinuxTcpDelta(linuxBefore, inst.LinuxTcpCounters());
        var m = WgetLine().Match(stdout);
        if (status != 0 || !m.Success)
            return new Case(interval, 0, 0, kills, restarts, recovery, unrecovered, false, status, (stdout + stderr).Trim(), tcp, linux, dropReasons);
        long bytes = long.Parse(m.Groups["bytes"].Value, CultureInfo.InvariantCulture);
        double seconds = double.Parse(m.Groups["seconds"].Value, CultureInfo.InvariantCulture);
        bool ok = bytes == size && m.Groups["sha"].Value == sha;
        return new Case(interval, bytes / seconds / 1e6, seconds, kills, restarts, recovery, unrecovered, ok, status, ok ? "" : "checksum or length differs", tcp, linux, dropReasons);
    }

    [GeneratedRegex(@"HTTP 200 OK: (?<bytes>\d+) bytes in (?<seconds>[0-9.]+) s \([0-9.]+ MB/s\), sha256 (?<sha>[0-9a-f]{64})")]
    private static partial Regex WgetLine();

    public static string CaseName(int interval) => interval == 0 ? "none" : $"kill{interval}s";

    private static void Print(bool json, string driver, int sizeMiB, string kernel, List<Case> cases, (string Png, string Svg) charts)
    {
        double none = cases[0].Mbps, every1 = cases.First(c => c.IntervalS == 1).Mbps;
        double ratio = none > 0 ? every1 / none : 0;
        var r = new List<(string Key, object Value)>
        {
            ("driver", $"\"{driver}\""),
            ("size_mib", sizeMiB),
        };
        foreach (var c in cases)
        {
            string k = CaseName(c.IntervalS);
            r.Add(($"{k}_mbps", Math.Round(c.Mbps, 2)));
            r.Add(($"{k}_seconds", Math.Round(c.Seconds, 2)));
            r.Add(($"{k}_kills", c.Kills));
            r.Add(($"{k}_restarts", c.Restarts));
            r.Add(($"{k}_recovery_ms_mean", c.RecoveryMs.Count > 0 ? Math.Round(c.RecoveryMs.Average(), 1) : 0));
            r.Add(($"{k}_recovery_ms_median", c.RecoveryMs.Count > 0 ? Math.Round(Median(c.RecoveryMs), 1) : 0));
            r.Add(($"{k}_recovery_ms_max", c.RecoveryMs.Count > 0 ? Math.Round(c.RecoveryMs.Max(), 1) : 0));
            r.Add(($"{k}_unrecovered", c.Unrecovered));
            r.Add(($"{k}_checksum_ok", c.ChecksumOk ? "true" : "false"));
            r.Add(($"{k}_tcp_retransmits", c.Tcp.Retransmits));
            r.Add(($"{k}_tcp_fast_retransmits", c.Tcp.FastRetransmits));
            r.Add(($"{k}_tcp_timeouts", c.Tcp.Timeouts));
            r.Add(($"{k}_inet_drops", c.Tcp.Drops));
            r.Add(($"{k}_inet_drop_reasons", JsonString(c.DropReasons)));
            r.Add(($"{k}_linux_retransmits", c.Linux.Retransmits));
            r.Add(($"{k}_linux_timeouts", c.Linux.Timeouts));
            r.Add(($"{k}_linux_recoveries", c.Linux.Recoveries));
            r.Add(($"{k}_linux_loss_probes", c.Linux.Probes));
            if (c.Error.Length > 0) r.Add(($"{k}_error", JsonString(c.Error)));
        }
        var all = cases.SelectMany(c => c.RecoveryMs).ToList();
        r.Add(("recovery_ms_mean", all.Count > 0 ? Math.Round(all.Average(), 1) : 0));
        r.Add(("ratio_kill1s_none", Math.Round(ratio, 3)));
        r.Add(("goal_mbps", GoalMbps));
        r.Add(("goal_mbps_met", none >= GoalMbps ? "true" : "false"));
        r.Add(("goal_ratio", GoalRatio));
        r.Add(("goal_ratio_met", ratio >= GoalRatio ? "true" : "false"));
        r.Add(("recovery_measured_as", "\"kill -> first frame on the wire again (Linux rx counter of the TAP, 1 ms polls)\""));
        r.Add(("kernel", $"\"{kernel}\""));
        r.Add(("chart_png", JsonString(charts.Png)));
        r.Add(("chart_svg", JsonString(charts.Svg)));
        if (json)
        {
            BenchHost.Print(json: true, r, null, 0);
            return;
        }
        Console.WriteLine($"wget of {sizeMiB} MiB from python3 http.server over TAP, {driver} killed (SIGKILL) every N s; one run, {kernel} kernel");
        Console.WriteLine($"{"case",-8} {"MB/s",7} {"seconds",8} {"kills",5} {"restarts",8} {"rec_mean_ms",11} {"rec_med_ms",10} {"rec_max_ms",10} {"drops",6} {"L_retx",6} {"L_rto",5} {"L_rec",5} {"L_tlp",5} {"sha256",6}");
        foreach (var c in cases)
        {
            bool any = c.RecoveryMs.Count > 0;
            double mean = any ? c.RecoveryMs.Average() : 0, median = any ? Median(c.RecoveryMs) : 0, max = any ? c.RecoveryMs.Max() : 0;
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{CaseName(c.IntervalS),-8} {c.Mbps,7:F2} {c.Seconds,8:F1} {c.Kills,5} {c.Restarts,8} {mean,11:F1} {median,10:F1} {max,10:F1} {c.Tcp.Drops,6} {c.Linux.Retransmits,6} {c.Linux.Timeouts,5} {c.Linux.Recoveries,5} {c.Linux.Probes,5} {(c.ChecksumOk ? "ok" : "BAD"),6}");
            Console.WriteLine(c.Error.Length > 0 ? $"{line}  ({c.Error})" : line);
        }
        foreach (var c in cases.Where(c => c.DropReasons.Length > 0)) Console.WriteLine($"INET drops, {CaseName(c.IntervalS)}: {c.DropReasons}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio (1 kill/s ÷ no kills)      {ratio:F3}   goal ≥ {GoalRatio}: {(ratio >= GoalRatio ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"uninterrupted throughput        {none:F2} MB/s   goal ≥ {GoalMbps}: {(none >= GoalMbps ? "met" : "NOT met")}"));
        Console.WriteLine("recovery time: kill → first frame Bulkhead puts on the wire again (Linux's rx counter of the TAP, polled every 1 ms)");
        Console.WriteLine("drops: frames INET dropped; L_retx, L_rto, L_rec, L_tlp: the Linux sender's retransmitted segments, time-outs, fast recoveries, tail-loss probes");
        Console.WriteLine($"chart: {charts.Png}");
        Console.WriteLine($"chart: {charts.Svg}");
    }

    public static double Median(List<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    public static string JsonString(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
