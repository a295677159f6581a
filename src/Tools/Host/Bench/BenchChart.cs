// Charts of the benchmarks, drawn with ScottPlot (bulkhead-host is a JIT program, so a plotting
// library that NativeAOT would not take is fine here) into out/bench/ as PNG and SVG.
//   Recovery     thesis Figs. 5.16 and 5.17: one bar per case (a kill every 1, 2, 4, 8, 15 s,
//                and no kills), throughput in MB/s with its value and a note (mean recovery
//                time, a bad checksum) on top, and the thesis's uninterrupted throughput as a
//                dashed line (NetRecovery: bench netrecovery's);
//   UnitSizes    thesis Figs. 5.12 and 5.13: throughput against the unit size of a read.
using System.Globalization;
using ScottPlot;

namespace Bulkhead.Host.Bench;

internal static class BenchChart
{
    private const int Width = 900, Height = 540;

    /// <summary>Fig. 5.16 for bench netrecovery: the paths of the PNG and SVG.</summary>
    public static (string Png, string Svg) NetRecovery(string root, string driver, int sizeMiB, List<NetRecoveryBench.Case> cases) =>
        Recovery(root, $"netrecovery-{driver}", $"wget of {sizeMiB} MiB over TAP, {driver} killed (SIGKILL) every N s",
            cases.Select(c => (c.IntervalS, c.Mbps, c.Kills,
                (c.RecoveryMs.Count > 0 ? $"{c.RecoveryMs.Average().ToString("F0", CultureInfo.InvariantCulture)} ms/kill" : "") + (c.ChecksumOk ? "" : "\nBAD SHA-256"))).ToList(),
            NetRecoveryBench.GoalMbps, "thesis, no kills: 10.8 MB/s");

    /// <summary>A recovery chart (thesis Figs. 5.16, 5.17): one bar per case (a kill every N s,
    /// then no kills, N = 0), throughput with its value and <c>Note</c> on top, and the thesis's
    /// uninterrupted throughput <paramref name="reference"/> as a dashed line.</summary>
    public static (string Png, string Svg) Recovery(string root, string name, string title, List<(int IntervalS, double Mbps, int Kills, string Note)> cases, double reference, string referenceText)
    {
        var order = cases.Where(c => c.IntervalS > 0).OrderBy(c => c.IntervalS).Concat(cases.Where(c => c.IntervalS == 0)).ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < order.Count; i++)
        {
            var c = order[i];
            string label = c.Mbps.ToString("F1", CultureInfo.InvariantCulture) + " MB/s";
            if (c.Note.Length > 0) label += "\n" + c.Note;
            bars.Add(new Bar
            {
                Position = i,
                Value = c.Mbps,
                Label = label,
                FillColor = c.IntervalS == 0 ? Colors.SteelBlue : Colors.IndianRed,
            });
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        var ticks = order.Select((c, i) => new Tick(i, c.IntervalS == 0 ? "no kills" : $"{c.IntervalS} s\n({c.Kills} kills)")).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        var goal = plot.Add.HorizontalLine(reference);
        goal.LinePattern = LinePattern.Dashed;
        goal.LineColor = Colors.Gray;
        goal.LegendText = referenceText;
        plot.ShowLegend(Alignment.UpperRight);
        plot.Title(title);
        plot.XLabel("time between driver kills");
        plot.YLabel("throughput (MB/s)");
        double top = Math.Max(reference, order.Max(c => c.Mbps));
        plot.Axes.SetLimitsY(0, top * 1.3);
        plot.Axes.SetLimitsX(-0.6, order.Count - 0.4);
        return Save(plot, root, name);
    }

    /// <summary>Reads at unit sizes (thesis Figs. 5.12, 5.13): MB/s of raw-device reads, file
    /// reads and the host's reads of the image file, one line each over the unit sizes.</summary>
    public static (string Png, string Svg) UnitSizes(string root, string name, List<(string Unit, double Raw, double File, double Host)> units)
    {
        var plot = new Plot();
        double[] xs = [.. Enumerable.Range(0, units.Count).Select(i => (double)i)];
        foreach (var (values, legend, color) in new[]
        {
            (units.Select(u => u.Raw).ToArray(), "Bulkhead raw /dev/c0d0", Colors.IndianRed),
            (units.Select(u => u.File).ToArray(), "Bulkhead file (MFS)", Colors.DarkOrange),
            (units.Select(u => u.Host).ToArray(), "host pread of the image", Colors.SteelBlue),
        })
        {
            var line = plot.Add.Scatter(xs, values.Select(v => Math.Log10(Math.Max(v, 0.01))).ToArray());
            line.LegendText = legend;
            line.Color = color;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(units.Select((u, i) => new Tick(i, u.Unit)).ToArray());
        double lo = Math.Floor(Math.Log10(Math.Max(0.01, units.Min(u => Math.Min(u.Raw, Math.Min(u.File, u.Host)))))),
               hi = Math.Ceiling(Math.Log10(Math.Max(0.01, units.Max(u => Math.Max(u.Raw, Math.Max(u.File, u.Host))))));
        var yTicks = new List<Tick>();
        for (double e = lo; e <= hi; e++) yTicks.Add(new Tick(e, Math.Pow(10, e).ToString("G", CultureInfo.InvariantCulture)));
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. yTicks]);
        plot.Axes.SetLimitsY(lo, hi);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title("reads at unit sizes: Bulkhead through VFS vs the host");
        plot.XLabel("unit size (one read call)");
        plot.YLabel("throughput (MB/s, log scale)");
        return Save(plot, root, name);
    }

    private static (string Png, string Svg) Save(Plot plot, string root, string name)
    {
        string dir = Path.Combine(root, "out", "bench");
        Directory.CreateDirectory(dir);
        string png = Path.Combine(dir, name + ".png"), svg = Path.Combine(dir, name + ".svg");
        plot.SavePng(png, Width, Height);
        plot.SaveSvg(svg, Width, Height);
        return (png, svg);
    }
}
