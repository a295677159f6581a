// Why an instance of a service ended (thesis Fig. 4.1's defect classes, plus the ends RS causes
// itself), typed so that RS decides on values, never on strings. Text() is the word `service
// list`, `ps`, the log and recovery scripts see.
namespace Bulkhead.Servers.Rs;

public enum FailureCause
{
    None,
    /// <summary>The process exited by itself.</summary>
    Exit,
    /// <summary>It reported a panic (ServiceRuntime.Panic), then exited.</summary>
    Panic,
    /// <summary>A CPU or MMU exception, or an unhandled exception it reported.</summary>
    Exception,
    /// <summary>Killed from outside by a signal RS did not send.</summary>
    Terminated,
    NoHeartbeat,
    InitTimeout,
    Complaint,
    /// <summary>`service refresh`/`restart`, or a restart requested under the `driver` key.</summary>
    Restart,
    Update,
    Down,
    /// <summary>Gone from the kernel's table with no exit report (PM is not running).</summary>
    UnreportedExit,
}

public static class FailureCauseText
{
    public static string Text(this FailureCause c) => c switch
    {
        FailureCause.None => "",
        FailureCause.Exit => "exit",
        FailureCause.Panic => "panic",
        FailureCause.Exception => "exception",
        FailureCause.Terminated => "terminated",
        FailureCause.NoHeartbeat => "no-heartbeat",
        FailureCause.InitTimeout => "init-timeout",
        FailureCause.Complaint => "complaint",
        FailureCause.Restart => "restart",
        FailureCause.Update => "update",
        FailureCause.Down => "down",
        FailureCause.UnreportedExit => "unreported-exit",
        _ => c.ToString().ToLowerInvariant(),
    };
}
