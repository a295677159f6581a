// The life cycle of a service in RS's table: a small state machine (docs/rs.md, "The life
// cycle of a service"). Service.State changes only through DriverManager's transition methods
// (DriverManager.Transitions.cs), each of which enters one state; ServiceLifecycle.IsLegal is
// the table of the moves they may make, and a move outside it is logged as a bug.
namespace Bulkhead.Servers.Rs;

public enum ServiceState
{
    /// <summary>Started, not yet reported InitDone.</summary>
    Starting,
    Running,
    /// <summary>Dead, restart scheduled after a backoff.</summary>
    Restarting,
    /// <summary>Dead, its recovery script decides.</summary>
    Recovering,
    /// <summary>`service down`: SIGTERM sent, SIGKILL after the time-out; removed at exit.</summary>
    Stopping,
    /// <summary>`service update`: the old instance is stopping; the new binary starts at its exit.</summary>
    Updating,
    /// <summary>Too many failures (or no way to start it): left down until `service refresh`.</summary>
    Failed,
    /// <summary>Its process is gone from the kernel's table but no exit was reported, because PM
    /// — which reports exits and starts processes — is not running: RS cannot restart it.</summary>
    Lost,
}
