// The transitions of RS's service state machine (docs/rs.md has the same table in prose):
//
//   from \ to   Starting Running Restarting Recovering Stopping Updating Failed Lost
//   Starting       x        x        x          x         x        x       x      x
//   Running        x                 x          x         x        x       x      x
//   Restarting     x                 x                                     x
//   Recovering     x                                                       x
//   Stopping                                                                      x
//   Updating       x                                      x                x      x
//   Failed         x
//   Lost           x
//
// Starting from Starting or Running: an instance that ended on an explicit restart is replaced
// at once. Restarting from Restarting: a restart that could not even start the process waits
// for the next backoff step. Every state with an instance can become Lost (PM gone). Stopping
// ends with the service removed from the table, which is not a state.
namespace Bulkhead.Servers.Rs;

public static class ServiceLifecycle
{
    public static bool IsLegal(ServiceState from, ServiceState to) => to switch
    {
        ServiceState.Starting => from is not ServiceState.Stopping,
        ServiceState.Running => from is ServiceState.Starting,
        ServiceState.Restarting => from is ServiceState.Starting or ServiceState.Running or ServiceState.Restarting,
        ServiceState.Recovering => from is ServiceState.Starting or ServiceState.Running,
        ServiceState.Stopping => from is ServiceState.Starting or ServiceState.Running or ServiceState.Updating,
        ServiceState.Updating => from is ServiceState.Starting or ServiceState.Running,
        ServiceState.Failed => from is ServiceState.Starting or ServiceState.Running or ServiceState.Restarting
            or ServiceState.Recovering or ServiceState.Updating,
        ServiceState.Lost => from is ServiceState.Starting or ServiceState.Running or ServiceState.Stopping or ServiceState.Updating,
        _ => false,
    };

    /// <summary>The word `service list` and `ps` show.</summary>
    public static string Text(this ServiceState s) => s.ToString().ToLowerInvariant();
}
