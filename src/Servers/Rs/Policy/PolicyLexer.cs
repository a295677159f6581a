// Splits drivers.conf text into PolicyTokens. Comments run from '#' to the end of the line
// (thesis Fig. 3.7: "driver rtl8139 # ISOLATION POLICY"). The lexer never fails: every
// character is white space, a comment, punctuation or part of a word; the parser judges.
// It mirrors src/Kernel/Boot/BootLexer.cs, whose types are internal to the kernel (and the
// kernel is no dependency of the servers), without boot.conf's quoted strings.
namespace Bulkhead.Servers.Rs.Policy;

internal static class PolicyLexer
{
    public static List<PolicyToken> Tokenize(string text)
    {
        var tokens = new List<PolicyToken>();
        int line = 1;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\n')
            {
                line++;
                i++;
            }
            else if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                while (i < text.Length && text[i] != '\n') i++;
            }
            else if (c is '{' or '}' or ';')
            {
                var kind = c == '{' ? PolicyTokenKind.Open : c == '}' ? PolicyTokenKind.Close : PolicyTokenKind.Semicolon;
                tokens.Add(new PolicyToken(kind, c.ToString(), line));
                i++;
            }
            else
            {
                int start = i;
                while (i < text.Length && !IsDelimiter(text[i])) i++;
                tokens.Add(new PolicyToken(PolicyTokenKind.Word, text[start..i], line));
            }
        }
        tokens.Add(new PolicyToken(PolicyTokenKind.End, "", line));
        return tokens;
    }

    private static bool IsDelimiter(char c) => char.IsWhiteSpace(c) || c is '{' or '}' or ';' or '#';
}
