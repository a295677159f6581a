// `bulkhead log --restarts`: the restart events of the system log as a table. RS logs each
// completed restart with one SYSCTL line, which the kernel writes with its uptime in seconds as
//   [    12.500] rs: restart label=L incarnation=N cause=C backoff_ms=B failed_at=F restarted_at=R endpoint=E
// Lines without "rs: restart " are skipped; unknown keys are ignored and missing ones shown as
// "-", so the table survives RS adding fields. Pure text in, text out (Format) for the tests.
using System.Text;

namespace Bulkhead.Host.Commands;

internal static class RestartLog
{
    public const string Marker = "rs: restart ";
    /// <summary>The log's time stamp: the kernel's uptime in seconds (FAILED_AT_MS and
    /// RESTARTED_AT_MS count the same clock in milliseconds).</summary>
    public const string TimeHeader = "TIME_S";

    private static readonly (string Key, string Header)[] Columns =
    [
        ("label", "LABEL"),
        ("incarnation", "INCARNATION"),
        ("cause", "CAUSE"),
        ("backoff_ms", "BACKOFF_MS"),
        ("failed_at", "FAILED_AT_MS"),
        ("restarted_at", "RESTARTED_AT_MS"),
        ("endpoint", "ENDPOINT"),
    ];

    /// <summary>One row per restart line: the log's time stamp, then the Columns values.</summary>
    public static List<string[]> Rows(IEnumerable<string> lines)
    {
        var rows = new List<string[]>();
        foreach (var line in lines)
        {
            int at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at < 0) continue;
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var word in line[(at + Marker.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = word.IndexOf('=');
                if (eq > 0) fields[word[..eq]] = word[(eq + 1)..];
            }
            string stamp = line.StartsWith('[') && line.IndexOf(']') is > 0 and var close ? line[1..close].Trim() : "-";
            var row = new string[Columns.Length + 1];
            row[0] = stamp;
            for (int i = 0; i < Columns.Length; i++) row[i + 1] = fields.GetValueOrDefault(Columns[i].Key, "-");
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>The table: a header and one aligned row per restart event.</summary>
    public static string Format(IEnumerable<string> lines)
    {
        var rows = Rows(lines);
        rows.Insert(0, [TimeHeader, .. Columns.Select(c => c.Header)]);
        var widths = new int[rows[0].Length];
        foreach (var r in rows)
            for (int i = 0; i < r.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                if (i > 0) sb.Append("  ");
                // Text columns (label, cause) left-aligned, numbers right-aligned.
                bool text = i is 1 or 3;
                sb.Append(i == r.Length - 1 ? r[i].PadLeft(widths[i]) : text ? r[i].PadRight(widths[i]) : r[i].PadLeft(widths[i]));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
