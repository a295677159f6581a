// Recursive-descent parser for drivers.conf (thesis §2.3.1, Figs. 2.6 and 3.7). Grammar:
//   file      := section*
//   section   := "driver" LABEL "{" stmt* "}" ";"
//   stmt      := KEY value+ ";"          KEY is "driver" or "ipc|isa|pci" + a second word
// The keys and their values are handled in PolicyParser.Keys.cs, numbers in
// PolicyParser.Values.cs. Every error throws PolicyException "<file>:<line>: <reason>" at
// the line it concerns. A new line that starts with a key inside a statement is reported as
// a missing ';' on the previous line, which is what it almost always is.
using Bulkhead.Lib.Config;

namespace Bulkhead.Servers.Rs.Policy;

internal sealed partial class PolicyParser
{
    /// <summary>Words that start a statement; the parser's missing-';' guess looks for them.</summary>
    private static readonly HashSet<string> FirstWords = ["driver", "ipc", "isa", "pci"];

    private readonly List<ConfigToken> _tokens;
    private readonly string _file;
    private int _pos;

    public PolicyParser(List<ConfigToken> tokens, string file)
    {
        _tokens = tokens;
        _file = file;
    }

    private ConfigToken Peek => _tokens[_pos];

    private ConfigToken Next() => _tokens[Math.Min(_pos++, _tokens.Count - 1)];

    private PolicyException Error(int line, string reason) => new(_file, line, reason);

    public List<Policy> Parse()
    {
        var policies = new List<Policy>();
        while (!Peek.Is(ConfigTokenKind.End))
        {
            var t = Next();
            if (!t.Is(ConfigTokenKind.Word) || t.Text != "driver")
                throw Error(t.Line, $"expected 'driver', found {t.Shown}");
            var name = Next();
            if (name.Is(ConfigTokenKind.End)) throw Error(t.Line, "unexpected end of file after 'driver' (expected a label)");
            if (!name.Is(ConfigTokenKind.Word)) throw Error(name.Line, $"expected a label after 'driver', found {name.Shown}");
            CheckLabel(name, "driver label");
            if (PolicyTargets.IsReserved(name.Text)) throw Error(name.Line, $"driver label '{name.Text}' is reserved");
            if (policies.FirstOrDefault(p => p.Label == name.Text) is { } first)
                throw Error(name.Line, $"duplicate driver '{name.Text}' (first at line {first.Line})");
            var b = new PolicyBuilder(name.Text, _file, t.Line);
            ParseSection(b);
            policies.Add(b.Build());
        }
        return policies;
    }

    /// <summary>Reads "{" stmt* "}" ";" after `driver LABEL`.</summary>
    private void ParseSection(PolicyBuilder b)
    {
        var open = Next();
        if (open.Is(ConfigTokenKind.End)) throw Error(b.Line, $"unexpected end of file after 'driver {b.Label}' (expected '{{')");
        if (!open.Is(ConfigTokenKind.Open)) throw Error(open.Line, $"expected '{{' after 'driver {b.Label}', found {open.Shown}");
        while (true)
        {
            var t = Peek;
            if (t.Is(ConfigTokenKind.End)) throw Error(b.Line, $"unexpected end of file: {b.What} is not closed (missing '}}')");
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
            if (!t.Is(ConfigTokenKind.Word)) throw Error(t.Line, $"expected a key in {b.What}, found {t.Shown}");
            Statement(b, ReadStatement(b));
        }
        if (!Peek.Is(ConfigTokenKind.Semicolon)) throw Error(_tokens[_pos - 1].Line, $"missing ';' after '}}' of {b.What}");
        Next();
    }

    /// <summary>Reads KEY value* ";" and returns the key and values (without the ';').</summary>
    private List<ConfigToken> ReadStatement(PolicyBuilder b)
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
                    throw Error(last.Line, $"missing ';' after {Describe(stmt)}");
                case ConfigTokenKind.End:
                    throw Error(last.Line, $"unexpected end of file after {Describe(stmt)} ({b.What} is not closed)");
                case ConfigTokenKind.Open:
                    throw Error(t.Line, $"missing '}}' to close {b.What} before this '{{'");
            }
            if (t.Line > last.Line && FirstWords.Contains(t.Text))
                throw Error(last.Line, $"missing ';' after {Describe(stmt)}");
            stmt.Add(Next());
        }
    }

    private static string Describe(List<ConfigToken> stmt) =>
        "'" + string.Join(' ', stmt.Take(4).Select(t => t.Text)) + (stmt.Count > 4 ? " ..." : "") + "'";

    /// <summary>Labels (drivers, targets): 1..15 letters, digits, '_', '-', '.', like boot.conf names.</summary>
    private void CheckLabel(ConfigToken t, string what)
    {
        string n = t.Text;
        if (n.Length is 0 or > 15 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw Error(t.Line, $"bad {what} '{n}' (1..15 letters, digits, '_', '-', '.')");
    }
}
