// Argument vectors on the control socket's one request line: `VERB "arg" "arg" …`, every
// argument double-quoted with \\, \", \n, \r and \t escaped, so arguments may hold spaces,
// quotes or be empty and the line stays one line. Split is the inverse of Join; it returns
// null for a malformed line (unterminated string, unknown escape, text between arguments).
// Shared by bulkhead-host, which joins, and bulkhead-kernel, which splits.
using System.Text;

namespace Bulkhead.Lib.Control;

public static class ControlArgs
{
    public static string Join(string verb, IEnumerable<string> args)
    {
        var sb = new StringBuilder(verb);
        foreach (var a in args)
        {
            sb.Append(" \"");
            foreach (char c in a)
            {
                sb.Append(c switch
                {
                    '\\' => "\\\\",
                    '"' => "\\\"",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ => c.ToString(),
                });
            }
            sb.Append('"');
        }
        return sb.ToString();
    }

    /// <summary>The arguments after the verb in <paramref name="rest"/>, or null if malformed.</summary>
    public static List<string>? Split(string rest)
    {
        var list = new List<string>();
        int i = 0;
        while (true)
        {
            while (i < rest.Length && rest[i] == ' ') i++;
            if (i >= rest.Length) return list;
            if (rest[i] != '"') return null;
            i++;
            var sb = new StringBuilder();
            while (true)
            {
                if (i >= rest.Length) return null;
                char c = rest[i++];
                if (c == '"') break;
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (i >= rest.Length) return null;
                char e = rest[i++];
                switch (e)
                {
                    case '\\': sb.Append('\\'); break;
                    case '"': sb.Append('"'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    default: return null;
                }
            }
            list.Add(sb.ToString());
            if (i < rest.Length && rest[i] != ' ') return null;
        }
    }
}
