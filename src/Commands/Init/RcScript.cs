// init's start-up script (MINIX's /etc/rc): etc/rc, one `service ...` command per line, run in
// order once the system servers are up — normally the drivers of the machine's devices, each
// under its etc/drivers.conf policy. '#' starts a comment; words are separated by blanks and a
// double-quoted string is one word ("io=0x300 irq=9"). A line that does not parse, or that RS
// refuses, is reported with the file and line and the script goes on: one bad driver must not
// keep the others from starting.
using System.Globalization;
using Bulkhead.Commands.Service;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Commands.Init;

public static class RcScript
{
    public const int MaxLines = 1000;

    /// <summary>Runs every command of <paramref name="path"/>; returns how many failed.</summary>
    public static int Run(string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SysCall.Diag($"{path}: cannot read: {e.Message}");
            return 1;
        }
        int failed = 0;
        for (int i = 0; i < Math.Min(lines.Length, MaxLines); i++)
        {
            string where = string.Create(CultureInfo.InvariantCulture, $"{path}:{i + 1}");
            if (!TrySplit(lines[i], out var words, out string? error))
            {
                SysCall.Diag($"{where}: {error}");
                failed++;
                continue;
            }
            if (words.Count == 0) continue;
            if (words[0] != "service")
            {
                SysCall.Diag($"{where}: unknown command '{words[0]}' (etc/rc runs 'service ...' lines)");
                failed++;
                continue;
            }
            var cl = ServiceCommandLine.Parse(words.Skip(1).ToList(), workingDirectory: Path.GetDirectoryName(Path.GetFullPath(path)));
            if (!cl.Ok)
            {
                SysCall.Diag($"{where}: service: {cl.Error}");
                failed++;
                continue;
            }
            int status = ServiceCommand.Execute(cl, out string output);
            SysCall.Diag($"{where}: {output.TrimEnd('\n')}");
            if (status != 0) failed++;
        }
        if (lines.Length > MaxLines) SysCall.Diag($"{path}: only the first {MaxLines} lines are run");
        return failed;
    }

    /// <summary>Blank-separated words; "..." is one word; '#' outside quotes ends the line.</summary>
    public static bool TrySplit(string line, out List<string> words, out string? error)
    {
        words = [];
        error = null;
        var word = new System.Text.StringBuilder();
        bool inWord = false, quoted = false;
        foreach (char c in line)
        {
            if (quoted)
            {
                if (c == '"') quoted = false;
                else word.Append(c);
                continue;
            }
            if (c == '#') break;
            if (c == '"')
            {
                quoted = inWord = true;
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
                continue;
            }
            word.Append(c);
            inWord = true;
        }
        if (quoted)
        {
            error = "unterminated '\"'";
            return false;
        }
        if (inWord) words.Add(word.ToString());
        return true;
    }
}
