// What the run directory says about a Bulkhead instance: its kernel pid (kernel.pid), whether
// that process is alive (a zombie counts as gone), and whether its control socket answers.
// An instance is running when both hold; a pid file whose process is gone is stale. Used by
// bulkhead-kernel before it boots and by bulkhead-host's commands.
using System.Globalization;
namespace Bulkhead.Lib.Control;

public static class Instance
{
    public static int? ReadPid(RunDirectory ctx)
    {
        try
        {
            return int.TryParse(File.ReadAllText(ctx.PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True while <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool ProcessAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z' && stat[close + 2] != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The pid of the instance running in the run directory, or null.</summary>
    public static int? Running(RunDirectory ctx) =>
        ReadPid(ctx) is { } pid && ProcessAlive(pid) && ControlClient.Answers(ctx.Socket) ? pid : null;
}
