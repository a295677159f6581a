// One subscription: the regex as the subscriber sent it (the identity used to replace rather
// than duplicate it), the compiled anchored regex, and the types it covers (0: all).
using System.Text.RegularExpressions;

namespace Bulkhead.Servers.Ds;

internal sealed class DsSubscription(string pattern, Regex regex, int typeMask)
{
    public string Pattern { get; } = pattern;
    public Regex Regex { get; } = regex;
    public int TypeMask { get; set; } = typeMask;
}
