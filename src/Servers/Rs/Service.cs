// One entry of RS's service table: what to run (spec, policy, optional in-memory binary),
// the current instance (endpoint, state), and the history RS bases its decisions on.
// Times are RS's monotonic milliseconds. State changes only through MoveTo, which DriverManager's
// transition methods call (ServiceLifecycle has the table of legal moves).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using PolicyEntry = Bulkhead.Servers.Rs.Policy.Policy;

namespace Bulkhead.Servers.Rs;

public sealed class Service(ServiceSpec spec, PolicyEntry policy, byte[]? image, ServiceState initial = ServiceState.Starting)
{
    public string Label => Spec.Label;
    public ServiceSpec Spec { get; set; } = spec;
    public PolicyEntry Policy { get; set; } = policy;
    /// <summary>-mirror: the binary as it was at `service up`; restarts never touch a file system.</summary>
    public byte[]? Image { get; set; } = image;
    /// <summary>The kernel image object made from Image (SysCall.ImageCreate), 0 if none yet.</summary>
    public int ImageId { get; set; }

    public int Endpoint { get; set; } = Lib.Ipc.Endpoint.None;
    public ServiceState State { get; private set; } = initial;

    /// <summary>Enters <paramref name="to"/>; false when the move is not in ServiceLifecycle's
    /// table (the caller logs it: a bug in RS, made loud but not fatal).</summary>
    public bool MoveTo(ServiceState to)
    {
        bool legal = ServiceLifecycle.IsLegal(State, to);
        State = to;
        return legal;
    }
    /// <summary>Instances started so far (1 for the first).</summary>
    public int Incarnation { get; set; }
    /// <summary>Restarts that reached InitDone (the count MINIX shows).</summary>
    public int Restarts { get; set; }
    public int BackoffLevel { get; set; }
    public long LastBackoffMs { get; set; }
    public FailureCause LastReason { get; set; }
    public long LastFailureAt { get; set; } = -1;
    public Queue<long> RecentFailures { get; } = new();

    /// <summary>Starting, created held (SpawnRequest.Held): none of its IPC is served until RS
    /// releases it, once DS has its label and the PCI-bus driver its ACL, or HeldSince plus the
    /// hold time-out has passed (DriverManager.Hold.cs).</summary>
    public bool Held { get; set; }
    public long HeldSince { get; set; }
    /// <summary>SetAcl requests for this instance the PCI-bus driver has yet to answer (each
    /// answer names the endpoint whose ACL it took, PciCall.SetAcl); 0: nothing to wait for.</summary>
    public int AclAwaited { get; set; }

    public long StartedAt { get; set; }
    public long RunningSince { get; set; }
    public long Deadline { get; set; }
    public long LastPing { get; set; }
    public long LastAlive { get; set; }
    /// <summary>Why RS itself is ending the instance (no-heartbeat, complaint, restart, update, down).</summary>
    public FailureCause? PendingReason { get; set; }
    /// <summary>What the dying instance said about itself (exception type or panic text).</summary>
    public (int Kind, string Text)? CrashReport { get; set; }
    public ServiceSpec? UpdateTo { get; set; }
    /// <summary>`service update`: RS asked the old instance to save its state and waits for
    /// StateSaved (until Deadline) before stopping it.</summary>
    public bool SavingState { get; set; }
    /// <summary>The running recovery script (a confined host program RS is the parent of), or NONE.</summary>
    public int Script { get; set; } = Lib.Ipc.Endpoint.None;
    /// <summary>When RS kills a recovery script that has not finished.</summary>
    public long ScriptDeadline { get; set; }

    /// <summary>For an adopted boot process (boot.conf `restart;`), its slot: the kernel starts
    /// it again from its boot entry, with the same endpoint. -1 for a service of `service up`.</summary>
    public int BootSlot { get; init; } = -1;
    public bool IsBoot => BootSlot >= 0;

    /// <summary>The most recent restart events, oldest first (at most MaxRestartEvents), as
    /// published in DS under rs.restart.LABEL.</summary>
    public Queue<string> RestartEvents { get; } = new();
    public const int MaxRestartEvents = 16;

    public bool HasInstance => Endpoint != Lib.Ipc.Endpoint.None;
}
