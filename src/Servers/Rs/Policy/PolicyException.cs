// The one error the isolation-policy reader (drivers.conf) throws. Its message is always
// "<file>:<line>: <reason>", so a console or an editor can jump to the offending line; File,
// Line and Reason carry the same parts separately for RS and for tests. Line 0 means the
// file as a whole (it could not be read).
namespace Bulkhead.Servers.Rs.Policy;

public sealed class PolicyException : Exception
{
    public string File { get; }
    public int Line { get; }
    public string Reason { get; }

    public PolicyException(string file, int line, string reason)
        : base($"{file}:{line}: {reason}")
    {
        File = file;
        Line = line;
        Reason = reason;
    }

    public PolicyException() : this("?", 0, "isolation policy error") { }

    public PolicyException(string message) : this("?", 0, message) { }

    public PolicyException(string message, Exception inner) : base(message, inner)
    {
        File = "?";
        Reason = message;
    }
}
