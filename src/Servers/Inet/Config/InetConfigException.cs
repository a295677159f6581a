// The one error the inet.conf reader throws: "<file>:<line>: <reason>", so a console or an
// editor can jump to the offending line. Line 0 means the file as a whole.
namespace Bulkhead.Servers.Inet.Config;

public sealed class InetConfigException : Exception
{
    public string File { get; }
    public int Line { get; }
    public string Reason { get; }

    public InetConfigException(string file, int line, string reason)
        : base($"{file}:{line}: {reason}")
    {
        File = file;
        Line = line;
        Reason = reason;
    }

    public InetConfigException() : this("?", 0, "inet.conf error") { }

    public InetConfigException(string message) : this("?", 0, message) { }

    public InetConfigException(string message, Exception inner) : base(message, inner)
    {
        File = "?";
        Reason = message;
    }
}
