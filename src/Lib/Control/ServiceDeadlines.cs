// How long bulkhead-kernel's ServiceRunner lets a service component wait, and so how long a
// control request that runs one may take. RS answers in milliseconds, so a component that waits on RS for
// longer is not served: RsRunning bounds that wait while RS's host process runs (a hung or
// overloaded RS), RsStopped while it is stopped (`kill -STOP`: it cannot answer until
// continued). A young RS (started less than RsStartup ago, still initializing) is waited for
// until it is that old. Total bounds the component's whole life, its start included.
// Two sets: Request for `service` requests, Ps for the `service list` that `ps` joins to the
// kernel's table — ps must show the kernel's table promptly whatever RS does.
// Rules: ClientTimeout, the control client's wait, exceeds everything the instance may spend
// on the request (Total, then ExitWait for the killed component's exit and DrainWait for its
// output), so the user reads the instance's answer and never a time-out taken for "no instance
// running". Shared by both ends of the control socket, so they cannot disagree.
namespace Bulkhead.Lib.Control;

public readonly record struct ServiceDeadlines(TimeSpan RsRunning, TimeSpan RsStopped, TimeSpan RsStartup, TimeSpan Total)
{
    public static readonly ServiceDeadlines Request = new(
        RsRunning: TimeSpan.FromSeconds(5), RsStopped: TimeSpan.FromSeconds(1), RsStartup: TimeSpan.FromSeconds(10), Total: TimeSpan.FromSeconds(60));

    public static readonly ServiceDeadlines Ps = new(
        RsRunning: TimeSpan.FromSeconds(2), RsStopped: TimeSpan.FromSeconds(0.5), RsStartup: TimeSpan.FromSeconds(10), Total: TimeSpan.FromSeconds(10));

    /// <summary>How long a killed component may take to exit, then to close its output.</summary>
    public static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5), DrainWait = TimeSpan.FromSeconds(5);

    /// <summary>How long the control client waits for the answer.</summary>
    public int ClientTimeoutMs => (int)(Total + ExitWait + DrainWait + TimeSpan.FromSeconds(5)).TotalMilliseconds;
}
