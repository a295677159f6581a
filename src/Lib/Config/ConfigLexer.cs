// Splits configuration text into ConfigTokens. Comments run from '#' to the end of the line.
// With strings allowed, double-quoted strings may not span lines and know two escapes (\" and
// \\); an unterminated one throws ConfigSyntaxException with the line where it began. Without,
// every character is white space, a comment, punctuation or part of a word, and the lexer
// never fails: the parser judges. No state is kept between calls.
using System.Text;

namespace Bulkhead.Lib.Config;

public static class ConfigLexer
{
    public static List<ConfigToken> Tokenize(string text, bool strings)
    {
        var tokens = new List<ConfigToken>();
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
                var kind = c == '{' ? ConfigTokenKind.Open : c == '}' ? ConfigTokenKind.Close : ConfigTokenKind.Semicolon;
                tokens.Add(new ConfigToken(kind, c.ToString(), line));
                i++;
            }
            else if (c == '"' && strings)
            {
                i = ReadString(text, i, line, tokens);
            }
            else
            {
                int start = i;
                while (i < text.Length && !IsDelimiter(text[i], strings)) i++;
                tokens.Add(new ConfigToken(ConfigTokenKind.Word, text[start..i], line));
            }
        }
        tokens.Add(new ConfigToken(ConfigTokenKind.End, "", line));
        return tokens;
    }

    private static bool IsDelimiter(char c, bool strings) =>
        char.IsWhiteSpace(c) || c is '{' or '}' or ';' or '#' || (strings && c == '"');

    private static int ReadString(string text, int i, int line, List<ConfigToken> tokens)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (true)
        {
            if (i >= text.Length || text[i] == '\n') throw new ConfigSyntaxException(line, "unterminated string");
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
        tokens.Add(new ConfigToken(ConfigTokenKind.String, sb.ToString(), line));
        return i + 1;
    }
}
