// Splits boot.conf text into tokens (BootToken). Comments run from '#' to the end of the
// line. Strings are double-quoted, may not span lines, and know two escapes (\" and \\).
// Errors (an unterminated string) throw BootConfigException with the line where the string
// began. The lexer keeps no state between files.
using System.Text;

namespace Bulkhead.Kernel.Boot;

internal static class BootLexer
{
    public static List<BootToken> Tokenize(string text, string file)
    {
        var tokens = new List<BootToken>();
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
                var kind = c == '{' ? BootTokenKind.Open : c == '}' ? BootTokenKind.Close : BootTokenKind.Semicolon;
                tokens.Add(new BootToken(kind, c.ToString(), line));
                i++;
            }
            else if (c == '"')
            {
                i = ReadString(text, i, line, file, tokens);
            }
            else
            {
                int start = i;
                while (i < text.Length && !IsDelimiter(text[i])) i++;
                tokens.Add(new BootToken(BootTokenKind.Word, text[start..i], line));
            }
        }
        tokens.Add(new BootToken(BootTokenKind.End, "", line));
        return tokens;
    }

    private static bool IsDelimiter(char c) => char.IsWhiteSpace(c) || c is '{' or '}' or ';' or '"' or '#';

    private static int ReadString(string text, int i, int line, string file, List<BootToken> tokens)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (true)
        {
            if (i >= text.Length || text[i] == '\n')
                throw new BootConfigException(file, line, "unterminated string");
            char c = text[i];
            if (c == '"') break;
            if (c == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\')
            {
                sb.Append(text[i + 1]);
                i += 2;
                continue;
            }
            sb.Append(c);
            i++;
        }
        tokens.Add(new BootToken(BootTokenKind.String, sb.ToString(), line));
        return i + 1;
    }
}
