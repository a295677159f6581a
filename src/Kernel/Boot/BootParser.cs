// Recursive-descent parser for boot.conf. Grammar:
//   file      := section*
//   section   := "system" "{" stmt* "}" ";"  |  "process" NAME "{" stmt* "}" ";"
//              |  "device" NAME "{" stmt* "}" ";"
//   stmt      := KEY value* ";"
// Section keys are handled in BootParser.System.cs, BootParser.Process.cs and
// BootParser.Device.cs; cross-process
// checks (slots, targets, "$name" references) run once the whole file is read, in
// BootParser.Resolve.cs. Every error throws BootConfigException at the line it concerns.
// A new line starting with a key of the current section inside a statement is reported as
// a missing ';' on the previous line, which is what it almost always is.
using System.Globalization;

using Bulkhead.Lib.Config;

namespace Bulkhead.Kernel.Boot;

internal sealed partial class BootParser
{
    private readonly List<ConfigToken> _tokens;
    private readonly string _file;
    private int _pos;

    public BootParser(List<ConfigToken> tokens, string file)
    {
        _tokens = tokens;
        _file = file;
    }

    private ConfigToken Peek => _tokens[_pos];

    private ConfigToken Next() => _tokens[Math.Min(_pos++, _tokens.Count - 1)];

    private BootConfigException Error(int line, string reason) => new(_file, line, reason);

    public BootConfig Parse()
    {
        SystemSettings? system = null;
        int systemLine = 0;
        var processes = new List<BootProcess>();
        var slotLines = new Dictionary<BootProcess, int>();
        var targets = new Dictionary<BootProcess, List<ConfigToken>>();
        var argLines = new Dictionary<BootProcess, int>();
        var restartLines = new Dictionary<BootProcess, int>();
        var devices = new List<BootDevice>();
        while (!Peek.Is(ConfigTokenKind.End))
        {
            var t = Next();
            if (t.Is(ConfigTokenKind.Word) && t.Text == "system")
            {
                if (system is not null) throw Error(t.Line, $"duplicate system section (first at line {systemLine})");
                system = new SystemSettings();
                systemLine = t.Line;
                ParseSection(t, "system", SystemKeys, stmt => SystemStatement(system, stmt));
            }
            else if (t.Is(ConfigTokenKind.Word) && t.Text == "process")
            {
                var name = Next();
                if (!name.Is(ConfigTokenKind.Word)) throw Error(name.Line, $"expected a process name after 'process', found {name.Shown}");
                CheckProcessName(name);
                if (processes.FirstOrDefault(p => p.Name == name.Text) is { } first)
                    throw Error(name.Line, $"duplicate process '{name.Text}' (first at line {first.Line})");
                var proc = new BootProcess { Name = name.Text, Line = t.Line };
                var state = new ProcessState(proc);
                ParseSection(t, $"process '{name.Text}'", ProcessKeys, stmt => ProcessStatement(state, stmt));
                if (state.ProgramLine == 0) throw Error(t.Line, $"process '{name.Text}' has no program");
                proc.Privileges = state.Privileges;
                processes.Add(proc);
                if (state.SlotLine != 0) slotLines[proc] = state.SlotLine;
                if (state.ArgsLine != 0) argLines[proc] = state.ArgsLine;
                if (state.RestartLine != 0) restartLines[proc] = state.RestartLine;
                targets[proc] = state.Targets;
            }
            else if (t.Is(ConfigTokenKind.Word) && t.Text == "device")
            {
                devices.Add(ParseDevice(t, devices));
            }
            else
            {
                throw Error(t.Line, $"unknown section {t.Shown} (expected 'system', 'process' or 'device')");
            }
        }
        system ??= new SystemSettings();
        Resolve(system, processes, slotLines, targets, argLines);
        CheckRestart(processes, restartLines);
        return new BootConfig(_file, system, processes, devices);
    }

    /// <summary>Reads "{" stmt* "}" ";" after a section keyword, handing each statement
    /// (key first, values after) to <paramref name="statement"/>.</summary>
    private void ParseSection(ConfigToken keyword, string what, HashSet<string> keys, Action<List<ConfigToken>> statement)
    {
        var open = Next();
        if (!open.Is(ConfigTokenKind.Open)) throw Error(open.Line, $"expected '{{' after {what}, found {open.Shown}");
        while (true)
        {
            var t = Peek;
            if (t.Is(ConfigTokenKind.End)) throw Error(keyword.Line, $"missing '}}' to close {what}");
            if (t.Is(ConfigTokenKind.Close))
            {
                Next();
                break;
            }
            if (t.Is(ConfigTokenKind.Semicolon))
            {
                Next();
                continue; // an empty statement is harmless
            }
            if (!t.Is(ConfigTokenKind.Word)) throw Error(t.Line, $"expected a key in {what}, found {t.Shown}");
            statement(ReadStatement(keys));
        }
        var semi = Peek;
        if (!semi.Is(ConfigTokenKind.Semicolon)) throw Error(_tokens[_pos - 1].Line, $"missing ';' after '}}' of {what}");
        Next();
    }

    /// <summary>Reads KEY value* ";" and returns the key and values (without the ';').</summary>
    private List<ConfigToken> ReadStatement(HashSet<string> keys)
    {
        var stmt = new List<ConfigToken> { Next() };
        while (true)
        {
            var t = Peek;
            var last = stmt[^1];
            switch (t.Kind)
            {
                case ConfigTokenKind.Semicolon:
                    Next();
                    return stmt;
                case ConfigTokenKind.Close:
                case ConfigTokenKind.End:
                    throw Error(last.Line, $"missing ';' after {Describe(stmt)}");
                case ConfigTokenKind.Open:
                    throw Error(stmt[0].Line, $"missing '}}' before {Describe(stmt)}");
            }
            if (t.Line > last.Line && t.Is(ConfigTokenKind.Word) && keys.Contains(t.Text))
                throw Error(last.Line, $"missing ';' after {Describe(stmt)}");
            stmt.Add(Next());
        }
    }

    private static string Describe(List<ConfigToken> stmt) =>
        "'" + string.Join(' ', stmt.Take(4).Select(t => t.Is(ConfigTokenKind.String) ? $"\"{t.Text}\"" : t.Text)) + (stmt.Count > 4 ? " ..." : "") + "'";

    private int Number(ConfigToken t, string what, int min, int max)
    {
        if (!t.Is(ConfigTokenKind.Word) || t.Text.Length == 0 || !t.Text.All(char.IsAsciiDigit)
            || !int.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw Error(t.Line, $"bad number {t.Shown} for {what}");
        if (n < min || n > max) throw Error(t.Line, $"{what} must be {min}..{max}, not {n}");
        return n;
    }

    private void Arity(List<ConfigToken> stmt, int values, string usage)
    {
        if (stmt.Count - 1 != values) throw Error(stmt[0].Line, $"'{stmt[0].Text}' takes {usage}");
    }

    private void CheckProcessName(ConfigToken name)
    {
        string n = name.Text;
        if (n.Length is 0 or > 15 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw Error(name.Line, $"bad process name '{n}' (1..15 letters, digits, '_', '-', '.')");
        if (KernelTargets.Contains(n) || string.Equals(n, "ALL", StringComparison.OrdinalIgnoreCase))
            throw Error(name.Line, $"process name '{n}' is reserved");
    }
}
