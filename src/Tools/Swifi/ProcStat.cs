// /proc/PID/stat (or /proc/PID/task/TID/stat) read past the command name, which may hold spaces
// and parentheses: field 3 (the state letter) is Fields[0], field 22 (the start time in clock
// ticks after boot) is Fields[19]. Null when the process or thread is gone.
namespace Bulkhead.Swifi;

public static class ProcStat
{
    public static string[]? Fields(string statPath)
    {
        try
        {
            string stat = File.ReadAllText(statPath);
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException) { return null; }
    }

    /// <summary>Whether the process or thread has exited: a zombie, dead, or gone.</summary>
    public static bool Exited(string statPath) => Fields(statPath) is not { } f || f[0] is "Z" or "X" or "x";

    /// <summary>When process <paramref name="pid"/> started (with the pid, it names one process); -1 when it is gone.</summary>
    public static long StartTime(int pid) =>
        Fields($"/proc/{pid}/stat") is { } f ? long.Parse(f[19], System.Globalization.CultureInfo.InvariantCulture) : -1;
}
