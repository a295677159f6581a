// `bulkhead swifi report FILE...` (docs/swifi.md, "Reports"): the thesis's chapter 5 tables from
// campaign results (SwifiResults), each beside the thesis's own numbers:
//   Fig. 5.3  failures per driver and fault type (RS's restarts, plus failures RS did not catch
//             that the campaign ended by killing the driver);
//   Fig. 5.4  the failure reasons (RS's causes) per driver and fault type;
//   Fig. 5.5  denied accesses by category, summed over every trial;
//   Figs. 5.6–5.7  faults needed to disrupt and to crash a driver instance: median and 99th
//             percentile over the instances (an instance is disrupted when the workload fails
//             while RS has not replaced it, crashed when RS replaces it);
//   Fig. 5.9  per at_wini campaign: requests, failed requests, restarts by cause, the filter's
//             findings and at_wini's messages by kind (the campaign's summary record).
// Markdown by default, CSV with --csv; --charts DIR also draws Figs. 5.3–5.4 (stacked reasons
// per fault type) and 5.6–5.7 (cumulative distributions) per driver as PNG and SVG.
using System.Globalization;
using System.Text;
using ScottPlot;

namespace Bulkhead.Host.Swifi;

internal static class SwifiReport
{
    /// <summary>Fig. 5.3's rows in the thesis's order, and its numbers (1000 trials × 100 faults).</summary>
    private static readonly (string Type, int Ne2000, int Rtl8139)[] Fig53 =
    [
        ("source", 947, 877), ("destination", 954, 883), ("pointer", 293, 849), ("parameter", 555, 890),
        ("control", 798, 279), ("binary", 933, 899), ("omission", 705, 711), ("random", 826, 819),
    ];

    /// <summary>The thesis's driver each of ours is compared with (dp8390 runs the emulated NE2000).</summary>
    private static string ThesisDriver(string driver) => driver == "dp8390" ? "NE2000" : driver == "rtl8139" ? "RTL8139" : "-";

    /// <summary>RS's causes grouped as Fig. 5.4 groups them.</summary>
    private static readonly (string Group, string[] Causes)[] Reasons =
    [
        ("internal panic", ["panic", "exit"]), ("CPU/MMU exception", ["exception"]), ("missing heartbeat", ["no-heartbeat"]),
        ("complaint", ["complaint"]), ("other", []), ("not caught", []),
    ];

    /// <summary>Fig. 5.5 (RTL8139, 100,000 trials × 1 random fault) by our kernel's descriptions;
    /// the CPU rows group the thesis's interrupt vectors by the signal Linux delivers for them.</summary>
    private static readonly Dictionary<string, (long Count, string Thesis)> Fig55 = new(StringComparer.Ordinal)
    {
        ["segmentation fault (SIGSEGV)"] = (1726, "general protection + stack exception"),
        ["illegal instruction (SIGILL)"] = (103, "invalid opcode"),
        ["arithmetic exception (SIGFPE)"] = (11, "divide error"),
        ["other fatal signal"] = (11, "breakpoint + debug exception"),
        ["grant id out of range"] = (14_830, ""),
        ["invalid grantor or grant id"] = (1332, ""),
        ["region exceeds grant"] = (448, ""),
        ["access type violates grant"] = (326, ""),
        ["unused or invalid grant"] = (28, ""),
        ["device port not allowed"] = (1_754_886, ""),
        ["kernel call not allowed"] = (198_487, ""),
        ["invalid kernel call number"] = (123_518, ""),
        ["invalid destination endpoint"] = (51_041, ""),
        ["unauthorized destination"] = (15_214, ""),
        ["request rejected by target"] = (2361, ""),
        ["invalid IPC primitive"] = (20, ""),
    };

    /// <summary>Fig. 5.5's stated total; its rows sum to 2,164,442, and its percentages are of that sum.</summary>
    private const long Fig55Stated = 2_162_054;
    private static readonly long Fig55Total = Fig55.Values.Sum(v => v.Count);

    /// <summary>Figs. 5.6–5.7: the thesis's medians to disrupt and crash, and its 99th percentile to crash.</summary>
    private static readonly Dictionary<string, (int Disrupt, int Crash, int Crash99)> Fig567 = new(StringComparer.Ordinal)
    {
        ["dp8390"] = (8, 10, 263),
        ["rtl8139"] = (5, 9, 282),
    };

    private sealed record Results(CampaignRecord Campaign, List<TrialRecord> Trials, SummaryRecord? Summary);

    public static int Run(string file, string[] rest)
    {
        var files = new List<string> { file };
        bool csv = false;
        string? charts = null;
        for (int i = 0; i < rest.Length; i++)
        {
            if (rest[i] == "--csv") csv = true;
            else if (rest[i] == "--charts" && i + 1 < rest.Length) charts = rest[++i];
            else if (rest[i].StartsWith('-')) throw new ArgumentException($"swifi report: unknown option '{rest[i]}'");
            else files.Add(rest[i]);
        }
        var runs = files.SelectMany(Expand).Select(f => { var (c, t, s) = SwifiJson.Read(f); return new Results(c, t, s); }).ToList();
        if (runs.Count == 0) throw new ArgumentException("swifi report: no results files");
        var tables = new List<Table> { Failures(runs), FailureReasons(runs), Denials(runs), Sensitivity(runs) };
        if (runs.Any(r => r.Campaign.Driver == "at_wini")) tables.Add(BlockRuns(runs.Where(r => r.Campaign.Driver == "at_wini").ToList()));
        var sb = new StringBuilder();
        foreach (var t in tables) sb.Append(csv ? t.Csv() : t.Markdown()).Append('\n');
        Console.Write(sb.ToString());
        if (charts is not null)
            foreach (var driver in runs.Select(r => r.Campaign.Driver).Distinct())
                foreach (var path in Charts(runs.Where(r => r.Campaign.Driver == driver).ToList(), driver, charts))
                    Console.Error.WriteLine($"swifi report: wrote {path}");
        return 0;
    }

    /// <summary>A file, or every *.jsonl file of a directory.</summary>
    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path) ? Directory.GetFiles(path, "*.jsonl").Order(StringComparer.Ordinal)
        : File.Exists(path) ? [path] : throw new FileNotFoundException($"swifi report: no such file '{path}'");

    private static bool Failed(TrialRecord t) => t.Restarted || t.Forced;

    private static string Group(TrialRecord t) =>
        t.Forced ? "not caught" : Reasons.FirstOrDefault(r => r.Causes.Contains(t.Reason)).Group ?? "other";

    private static Table Failures(List<Results> runs)
    {
        var drivers = runs.Select(r => r.Campaign.Driver).Distinct().Order(StringComparer.Ordinal).ToList();
        var table = new Table("Fig. 5.3: driver failures per fault type (failures / trials × faults per trial; thesis: 1000 × 100)",
            ["fault type", .. drivers.SelectMany(d => new[] { d, $"thesis {ThesisDriver(d)}" })]);
        foreach (var (type, ne, rtl) in Fig53)
        {
            var row = new List<string> { type };
            foreach (var d in drivers)
            {
                var mine = runs.Where(r => r.Campaign.Driver == d && r.Campaign.Type == type).ToList();
                int trials = mine.Sum(r => r.Trials.Count), failures = mine.Sum(r => r.Trials.Count(Failed));
                string per = string.Join("/", mine.Select(r => r.Campaign.FaultsPerTrial).Distinct());
                row.Add(trials == 0 ? "-" : $"{failures} / {trials} × {per}");
                row.Add(d == "dp8390" ? ne.ToString(CultureInfo.InvariantCulture) : d == "rtl8139" ? rtl.ToString(CultureInfo.InvariantCulture) : "-");
            }
            table.Rows.Add(row);
        }
        return table;
    }

    private static Table FailureReasons(List<Results> runs)
    {
        var table = new Table("Fig. 5.4: failure reasons (RS's cause; not caught = the driver failed the workload and nothing replaced it for 5 trials in a row, so the campaign killed it)",
            ["driver", "fault type", "failures", .. Reasons.Select(r => r.Group)]);
        foreach (var g in runs.GroupBy(r => (r.Campaign.Driver, r.Campaign.Type)).OrderBy(g => g.Key.Driver, StringComparer.Ordinal).ThenBy(g => Array.FindIndex(Fig53, f => f.Type == g.Key.Type)))
        {
            var failed = g.SelectMany(r => r.Trials).Where(Failed).ToList();
            table.Rows.Add([g.Key.Driver, g.Key.Type, failed.Count.ToString(CultureInfo.InvariantCulture),
                            .. Reasons.Select(r => Percent(failed.Count(t => Group(t) == r.Group), failed.Count))]);
        }
        table.Notes.Add("thesis, NE2000, random faults: 826 failures: 42.3% exception, 54.9% internal panic, 2.8% missing heartbeat");
        table.Notes.Add("thesis, RTL8139, 100,000 trials × 1 random fault: 5887 failures: 63.5% internal panic, 31.8% exception, 4.7% missing heartbeat");
        return table;
    }

    private static Table Denials(List<Results> runs)
    {
        var categories = runs.SelectMany(r => r.Campaign.DenialCategories).Distinct().ToList();
        var sums = categories.ToDictionary(c => c, c => runs.SelectMany(r => r.Trials).Sum(t => t.Denials.GetValueOrDefault(c)));
        long total = sums.Values.Sum();
        long faults = runs.Sum(r => r.Trials.Sum(t => (long)t.Faults.Count));
        var table = new Table($"Fig. 5.5: denied accesses over {runs.Sum(r => r.Trials.Count)} trials and {faults} faults (thesis: RTL8139, 100,000 trials × 1 random fault)",
            ["category", "denied", "%", "thesis", "thesis %"]);
        table.Rows.Add(["total", N(total), "100.00", $"{N(Fig55Stated)} (rows: {N(Fig55Total)})", "100.00"]);
        foreach (var c in categories)
        {
            // "GROUP description", GROUP one word but for "device I/O".
            string description = c.StartsWith("device I/O ", StringComparison.Ordinal) ? c["device I/O ".Length..]
                               : c.Contains(' ') ? c[(c.IndexOf(' ') + 1)..] : c;
            var thesis = Fig55.TryGetValue(description, out var th) ? th : ((long)-1, "");
            table.Rows.Add([c + (thesis.Item2.Length > 0 ? $" (thesis: {thesis.Item2})" : ""), N(sums[c]), Pct(sums[c], total),
                            thesis.Item1 < 0 ? "-" : N(thesis.Item1), thesis.Item1 < 0 ? "-" : Pct(thesis.Item1, Fig55Total)]);
        }
        return table;
    }

    /// <summary>Per driver instance (the trials between two restarts): faults injected into it
    /// until the workload first failed without a restart (disrupted), and until RS replaced it (crashed).</summary>
    private static (List<int> Disrupt, List<int> Crash) Instances(List<Results> runs)
    {
        var disrupt = new List<int>();
        var crash = new List<int>();
        foreach (var run in runs)
        {
            bool disrupted = false;
            foreach (var t in run.Trials)
            {
                if (!disrupted && !t.WorkloadOk && !t.Restarted)
                {
                    disrupted = true;
                    disrupt.Add(t.FaultsThisInstance);
                }
                if (t.Restarted || t.Forced)
                {
                    if (t.Restarted && !t.Forced) crash.Add(t.FaultsThisInstance);
                    disrupted = false;
                }
            }
        }
        return (disrupt, crash);
    }

    private static Table Sensitivity(List<Results> runs)
    {
        var table = new Table("Figs. 5.6–5.7: faults needed to disrupt and to crash a driver instance (thesis: 100,000 trials × 1 random fault)",
            ["driver", "instances disrupted", "median to disrupt", "instances crashed", "median to crash", "99% crashed after", "thesis median disrupt / crash, 99% crash"]);
        foreach (var g in runs.GroupBy(r => r.Campaign.Driver).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var (disrupt, crash) = Instances([.. g]);
            string thesis = Fig567.TryGetValue(g.Key, out var th) ? $"{th.Disrupt} / {th.Crash}, {th.Crash99}" : "-";
            table.Rows.Add([g.Key, N(disrupt.Count), Quantile(disrupt, 0.5), N(crash.Count), Quantile(crash, 0.5), Quantile(crash, 0.99), thesis]);
        }
        return table;
    }

    /// <summary>Fig. 5.9 as printed there, runs T.1–T.7 (40 trials × 25 random faults into
    /// at_wini behind the filter; "hang": the run stopped early because the machine hung).</summary>
    private static readonly (string Row, string Thesis)[] Fig59 =
    [
        ("SWIFI trials × 25 faults", "40 40 40 12 9 18 13"),
        ("Total driver requests", "1648 1724 1796 566 249 745 504"),
        ("Driver requests failed", "0 0 0 0 2 11 12"),
        ("SWIFI test result", "OK OK OK Hang Hang Hang Hang"),
        ("Driver-manager restarts", "33 31 30 11 18 63 59"),
        ("Driver exit due to panic", "5 7 5 0 0 3 3"),
        ("Crashed due to exception", "9 5 8 4 3 3 2"),
        ("Missing driver heartbeat", "1 4 1 2 10 38 38"),
        ("Filter-driver complaint", "18 15 16 5 5 19 16"),
        ("Filter-driver output", "92 88 95 26 18 64 49"),
        ("Driver dead when sending", "0 1 1 1 5 24 25"),
        ("Driver receive time-out", "18 14 17 5 4 7 10"),
        ("Unexpected IPC reply", "24 33 33 9 3 15 6"),
        ("Legitimate request failed", "35 40 38 11 3 18 8"),
        ("Bad checksum detected", "15 0 6 0 3 0 0"),
        ("Read-after-write failed", "0 0 0 0 0 0 0"),
        ("ATWINI-driver output", "1 4 2 5 17 84 95"),
    ];

    /// <summary>The filter's counts (SwifiBlockTestbed.Counters) behind Fig. 5.9's filter rows.</summary>
    private static readonly string[] FilterKinds = ["dead-when-sending", "receive-timeouts", "unexpected-replies", "requests-failed", "bad-checksums", "read-after-write-failed"];

    /// <summary>Fig. 5.9: one column per at_wini campaign, ordered like the thesis's by the
    /// requests that failed, and the thesis's seven runs beside them.</summary>
    private static Table BlockRuns(List<Results> runs)
    {
        long C(Results r, string key) => r.Summary?.Counters.GetValueOrDefault(key) ?? 0;
        long Restarts(Results r, params string[] causes) => causes.Sum(c => C(r, "restart " + c));
        var ordered = runs.OrderBy(r => C(r, "filter failed")).ThenBy(r => r.Campaign.Seed).ToList();
        var table = new Table("Fig. 5.9: SWIFI runs against at_wini behind the filter (checksums, N = M = 3), ordered by failed requests",
            ["", .. ordered.Select((r, i) => $"T.{i + 1} (seed {r.Campaign.Seed})"), "thesis T.1–T.7"]);
        string[] causes = ["panic", "exit", "exception", "no-heartbeat", "complaint"];
        var rows = new List<(string Row, Func<Results, string> Value)>
        {
            ("SWIFI trials × 25 faults", r => $"{r.Trials.Count} × {r.Campaign.FaultsPerTrial}"),
            ("Total driver requests", r => N(C(r, "filter sent"))),
            ("Driver requests failed", r => N(C(r, "filter failed"))),
            ("SWIFI test result", r => r.Summary is null ? "did not end" : r.Summary.Completed ? "OK" : "stopped"),
            ("Driver-manager restarts", r => N(r.Summary?.Counters.Where(kv => kv.Key.StartsWith("restart ", StringComparison.Ordinal)).Sum(kv => kv.Value) ?? 0)),
            ("Driver exit due to panic", r => N(Restarts(r, "panic", "exit"))),
            ("Crashed due to exception", r => N(Restarts(r, "exception"))),
            ("Missing driver heartbeat", r => N(Restarts(r, "no-heartbeat"))),
            ("Filter-driver complaint", r => N(Restarts(r, "complaint"))),
            ("Filter-driver output", r => N(FilterKinds.Sum(k => C(r, "filter " + k)))),
            ("Driver dead when sending", r => N(C(r, "filter dead-when-sending"))),
            ("Driver receive time-out", r => N(C(r, "filter receive-timeouts"))),
            ("Unexpected IPC reply", r => N(C(r, "filter unexpected-replies"))),
            ("Legitimate request failed", r => N(C(r, "filter requests-failed"))),
            ("Bad checksum detected", r => N(C(r, "filter bad-checksums"))),
            ("Read-after-write failed", r => N(C(r, "filter read-after-write-failed"))),
            ("ATWINI-driver output", r => N(r.Summary?.Counters.Where(kv => kv.Key.StartsWith("at_wini ", StringComparison.Ordinal)).Sum(kv => kv.Value) ?? 0)),
        };
        foreach (var (row, value) in rows)
            table.Rows.Add([row, .. ordered.Select(value), Fig59.First(f => f.Row == row).Thesis]);
        // Ours beyond the thesis's rows: other restart causes, at_wini's messages by kind, and the checks that matter most.
        foreach (var cause in ordered.SelectMany(r => r.Summary?.Counters.Keys.AsEnumerable() ?? []).Where(k => k.StartsWith("restart ", StringComparison.Ordinal) && !causes.Contains(k[8..])).Distinct().Order(StringComparer.Ordinal))
            table.Rows.Add([$"Restarts, cause {cause[8..]}", .. ordered.Select(r => N(C(r, cause))), "-"]);
        foreach (var kind in ordered.SelectMany(r => r.Summary?.Counters.Keys.AsEnumerable() ?? []).Where(k => k.StartsWith("at_wini ", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal))
            table.Rows.Add([$"  {kind}", .. ordered.Select(r => N(C(r, kind))), "-"]);
        table.Rows.Add(["Failures RS did not catch (campaign killed the driver)", .. ordered.Select(r => N(r.Trials.Count(t => t.Forced))), "-"]);
        table.Rows.Add(["Workload read back wrong data", .. ordered.Select(r => N(r.Trials.Count(t => t.WorkloadError?.StartsWith("read back wrong", StringComparison.Ordinal) == true))), "-"]);
        table.Rows.Add(["Propagations", .. ordered.Select(r => N(r.Trials.Count(t => t.Propagation is not null))), "-"]);
        table.Rows.Add(["fsck.minix -f of the file system at the end", .. ordered.Select(r =>
            r.Summary?.Counters.TryGetValue("fsck.minix exit", out long exit) != true ? "not run"
            : exit == 0 && C(r, "fsck.minix findings") == 0 ? "clean" : $"exit {exit}, {C(r, "fsck.minix findings")} findings"), "-"]);
        table.Notes.Add("thesis ATWINI-driver output by kind: controller not ready 1 4 2 5 15 73 77; reset failed, drive busy 0 0 0 0 2 11 13; timeout on command 0 0 0 0 0 0 5");
        table.Notes.Add("thesis: T.4–T.7 hung the machine (the controller or the PCI bus) before 40 trials; Bulkhead's ATA model answers every command sequence, so a run stops only when the system beyond the driver is broken");
        return table;
    }

    private static IEnumerable<string> Charts(List<Results> runs, string driver, string dir)
    {
        Directory.CreateDirectory(dir);
        // Figs. 5.3–5.4: one stacked bar of failure reasons per fault type.
        var plot = new Plot();
        var types = Fig53.Select(f => f.Type).Where(t => runs.Any(r => r.Campaign.Type == t)).ToList();
        var palette = new[] { Colors.IndianRed, Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Gray, Colors.Black };
        for (int i = 0; i < types.Count; i++)
        {
            var failed = runs.Where(r => r.Campaign.Type == types[i]).SelectMany(r => r.Trials).Where(Failed).ToList();
            double bottom = 0;
            for (int k = 0; k < Reasons.Length; k++)
            {
                int n = failed.Count(t => Group(t) == Reasons[k].Group);
                if (n == 0) continue;
                plot.Add.Bar(new Bar { Position = i, ValueBase = bottom, Value = bottom + n, FillColor = palette[k] });
                bottom += n;
            }
        }
        for (int k = 0; k < Reasons.Length; k++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = Reasons[k].Group, FillColor = palette[k] });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(types.Select((t, i) => new Tick(i, t)).ToArray());
        plot.Title($"{driver}: driver failures and their reasons per fault type (Figs. 5.3–5.4)");
        plot.YLabel("failures");
        foreach (var p in Save(plot, dir, $"swifi-{driver}-failures")) yield return p;

        // Figs. 5.6–5.7: cumulative distributions of the faults needed to disrupt and to crash.
        var (disrupt, crash) = Instances(runs);
        plot = new Plot();
        foreach (var (values, legend, color) in new[] { (disrupt, "disrupted", Colors.DarkOrange), (crash, "crashed", Colors.IndianRed) })
        {
            if (values.Count == 0) continue;
            var sorted = values.Order().ToArray();
            var line = plot.Add.Scatter(sorted.Select(v => (double)v).ToArray(), sorted.Select((_, i) => 100.0 * (i + 1) / sorted.Length).ToArray());
            line.LegendText = legend;
            line.Color = color;
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.MarkerSize = 0;
        }
        plot.ShowLegend(Alignment.LowerRight);
        plot.Title($"{driver}: faults needed to disrupt and to crash (Figs. 5.6–5.7)");
        plot.XLabel("faults injected into the driver instance");
        plot.YLabel("cumulative % of instances");
        foreach (var p in Save(plot, dir, $"swifi-{driver}-sensitivity")) yield return p;
    }

    private static string[] Save(Plot plot, string dir, string name)
    {
        string png = Path.Combine(dir, name + ".png"), svg = Path.Combine(dir, name + ".svg");
        plot.SavePng(png, 900, 540);
        plot.SaveSvg(svg, 900, 540);
        return [png, svg];
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    private static string Pct(long n, long total) => total == 0 ? "-" : (100.0 * n / total).ToString("F2", CultureInfo.InvariantCulture);
    private static string Percent(int n, int total) => total == 0 ? "-" : $"{n} ({100.0 * n / total:F1}%)";

    private static string Quantile(List<int> values, double q)
    {
        if (values.Count == 0) return "-";
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)].ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A titled table, printed as Markdown or CSV.</summary>
    private sealed class Table(string title, string[] header)
    {
        public List<List<string>> Rows { get; } = [];
        public List<string> Notes { get; } = [];

        public string Markdown()
        {
            var sb = new StringBuilder($"### {title}\n\n| {string.Join(" | ", header)} |\n|{string.Concat(header.Select(_ => "---|"))}\n");
            foreach (var r in Rows) sb.Append("| ").Append(string.Join(" | ", r)).Append(" |\n");
            foreach (var n in Notes) sb.Append('\n').Append(n).Append('\n');
            return sb.ToString();
        }

        public string Csv()
        {
            static string Q(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
            var sb = new StringBuilder($"# {title}\n{string.Join(",", header.Select(Q))}\n");
            foreach (var r in Rows) sb.Append(string.Join(",", r.Select(Q))).Append('\n');
            return sb.ToString();
        }
    }
}
