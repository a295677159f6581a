// The control protocol between bulkhead-host (the client) and bulkhead-kernel (the server on
// <run>/control.sock and <run>/service.sock): one request line of at most MaxRequestBytes
// bytes, its '\n' included, answered by one text response, then the connection is closed.
// Requests: ping (answered Pong), ps, denials, info, devices, shutdown, and
// `service "ARG"…` (Service, arguments quoted by ControlArgs), and `run "PROGRAM" "ARG"…` (Run),
// which carries the client's stdio descriptors and is answered when the program exits. A response that starts with
// "error:" is a failure. The one definition of the limit and its message, which both ends
// use: the server answers an overlong line with TooLarge, the client never sends one and
// answers it itself.
namespace Bulkhead.Lib.Control;

public static class ControlProtocol
{
    /// <summary>The longest request line, its '\n' included.</summary>
    public const int MaxRequestBytes = 16384;

    public const string Ping = "ping";
    public const string Pong = "pong";
    /// <summary>The verb of a request that runs the service utility inside the instance.</summary>
    public const string Service = "service";
    /// <summary>The verb of a request that runs a user program inside the instance (`run
    /// "PROGRAM" "ARG"…`, quoted by ControlArgs), with the client's stdin, stdout and stderr
    /// passed along (SCM_RIGHTS). Answered "exit N\n" when the program ends (or "error: …").</summary>
    public const string Run = "run";

    public static bool IsRun(string line) => line == Run || line.StartsWith(Run + " ", StringComparison.Ordinal);

    /// <summary>The answer to a request line longer than MaxRequestBytes.</summary>
    public static string TooLarge(long bytes = 0) =>
        "error: request too large" + (bytes > 0 ? $" ({bytes} bytes)" : "") +
        $": the control socket takes at most {MaxRequestBytes} bytes per request\n";
}
