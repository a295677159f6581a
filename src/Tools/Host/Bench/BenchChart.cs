// Charts of the network benchmarks, drawn with ScottPlot (bulkhead-host is a JIT program, so a
// plotting library that NativeAOT would not take is fine here) into out/bench/ as PNG and SVG.
//   NetRecovery  thesis Fig. 5.16: one bar per case (a kill every 1, 2, 4, 8, 15 s, and no
//                kills), throughput in MB/s with its value and mean recovery time on top, and
//                the thesis's uninterrupted 10.8 MB/s as a dashed line.
using System.Globalization;
using ScottPlot;

namespace Bulkhead.Host.Bench;

internal static class BenchChart
{
    private const int Width = 900, Height = 540;

    /// <summary>The paths of the PNG and SVG written for <paramref name="cases"/>.</summary>
    public static (string Png, string Svg) NetRecovery(string root, string driver, int sizeMiB, List<NetRecoveryBench.Case> cases)
    {
        var order = cases.Where(c => c.IntervalS > 0).OrderBy(c => c.IntervalS).Concat(cases.Where(c => c.IntervalS == 0)).ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        for (int i = 0; i < order.Count; i++)
        {
            var c = order[i];
            string label = c.Mbps.ToString("F1", CultureInfo.InvariantCulture) + " MB/s";
            if (c.RecoveryMs.Count > 0) label += $"\n{c.RecoveryMs.Average().ToString("F0", CultureInfo.InvariantCulture)} ms/kill";
            if (!c.ChecksumOk) label += "\nBAD SHA-256";
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
        var goal = plot.Add.HorizontalLine(NetRecoveryBench.GoalMbps);
        goal.LinePattern = LinePattern.Dashed;
        goal.LineColor = Colors.Gray;
        goal.LegendText = "thesis, no kills: 10.8 MB/s";
        plot.ShowLegend(Alignment.UpperRight);
        plot.Title($"wget of {sizeMiB} MiB over TAP, {driver} killed (SIGKILL) every N s");
        plot.XLabel("time between driver kills");
        plot.YLabel("throughput (MB/s)");
        double top = Math.Max(NetRecoveryBench.GoalMbps, order.Max(c => c.Mbps));
        plot.Axes.SetLimitsY(0, top * 1.3);
        plot.Axes.SetLimitsX(-0.6, order.Count - 0.4);
        return Save(plot, root, $"netrecovery-{driver}");
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
