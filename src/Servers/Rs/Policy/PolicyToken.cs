// One drivers.conf token and the line it starts on. A word is any run of characters other
// than white space, '#', braces and ';', so "10ec/8139", "300:20" and labels are all words.
namespace Bulkhead.Servers.Rs.Policy;

internal readonly record struct PolicyToken(PolicyTokenKind Kind, string Text, int Line)
{
    public bool Is(PolicyTokenKind kind) => Kind == kind;

    /// <summary>How the token reads in an error message.</summary>
    public string Shown => Kind == PolicyTokenKind.End ? "end of file" : $"'{Text}'";
}
