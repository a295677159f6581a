// Tokens of Bulkhead's configuration language (thesis Fig. 3.7 style, used by boot.conf and
// drivers.conf): words, quoted strings (where the file allows them) and the three punctuation
// marks '{', '}' and ';'. A word is any run of characters other than white space, '#',
// braces, ';' (and '"' where strings are allowed), so numbers, "10ec/8139", "300:20", CPU
// lists, paths and "$name" references are all words. Every token remembers its line.
namespace Bulkhead.Lib.Config;

public enum ConfigTokenKind
{
    Word,
    String,
    Open,
    Close,
    Semicolon,
    End,
}

public readonly record struct ConfigToken(ConfigTokenKind Kind, string Text, int Line)
{
    public bool Is(ConfigTokenKind kind) => Kind == kind;

    /// <summary>How the token reads in an error message.</summary>
    public string Shown => Kind switch
    {
        ConfigTokenKind.End => "end of file",
        ConfigTokenKind.String => $"\"{Text}\"",
        _ => $"'{Text}'",
    };
}

/// <summary>A lexical error: the line and the reason; the parser adds the file name.</summary>
public sealed class ConfigSyntaxException(int line, string reason) : Exception(reason)
{
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}
