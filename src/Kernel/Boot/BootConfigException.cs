// The one error the boot configuration reader throws. Its message is always
// "<file>:<line>: <reason>", so a console or an editor can jump straight to the offending
// line; File, Line and Reason carry the same parts separately for callers and tests.
namespace Bulkhead.Kernel.Boot;

public sealed class BootConfigException : Exception
{
    public string File { get; }
    public int Line { get; }
    public string Reason { get; }

    public BootConfigException(string file, int line, string reason)
        : base($"{file}:{line}: {reason}")
    {
        File = file;
        Line = line;
        Reason = reason;
    }

    public BootConfigException() : this("?", 0, "boot configuration error") { }

    public BootConfigException(string message) : this("?", 0, message) { }

    public BootConfigException(string message, Exception inner) : base(message, inner)
    {
        File = "?";
        Reason = message;
    }
}
