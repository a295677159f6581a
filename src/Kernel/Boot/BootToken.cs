// Tokens of the boot configuration language (thesis Fig. 3.7 style): words, quoted strings
// and the three punctuation marks '{', '}' and ';'. A word is any run of characters other
// than white space, quotes, '#', braces and ';', so numbers, CPU lists ("0,1"), paths and
// "$name" references are all words. Every token remembers its line for error messages.
namespace Bulkhead.Kernel.Boot;

internal enum BootTokenKind
{
    Word,
    String,
    Open,
    Close,
    Semicolon,
    End,
}

internal readonly record struct BootToken(BootTokenKind Kind, string Text, int Line)
{
    public bool Is(BootTokenKind kind) => Kind == kind;

    /// <summary>How the token reads in an error message.</summary>
    public string Shown => Kind switch
    {
        BootTokenKind.End => "end of file",
        BootTokenKind.String => $"\"{Text}\"",
        _ => $"'{Text}'",
    };
}
