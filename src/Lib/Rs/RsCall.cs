// The driver manager's (RS) protocol: request numbers (append-only) and the text format of
// the larger arguments, which travel in a caller's arena buffer that RS reads through a
// memory grant. Requests come from the service utility (up/down/refresh/restart/update/
// list), from services themselves (init done, heartbeat answers, crash reports) and from
// components allowed by their policy's `driver` key to complain about another service.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Rs;

public static class RsCall
{
    public const int Base = Protocols.Rs;

    /// <summary>Start a service. Payload: BufferRequest naming a ServiceSpec text.</summary>
    public const int Up = Base + 1;
    /// <summary>Stop a service for good. Payload: BufferRequest naming the label.</summary>
    public const int Down = Base + 2;
    /// <summary>Restart a service (also a failed one) as if it had failed: reason "restart".</summary>
    public const int Refresh = Base + 3;
    /// <summary>Restart a service now, without counting a failure (recovery scripts use this).</summary>
    public const int Restart = Base + 4;
    /// <summary>Dynamic update: SIGTERM, state to DS, SIGKILL after a time-out, start the new binary.
    /// Payload: BufferRequest naming a ServiceSpec text with label and binary.</summary>
    public const int Update = Base + 5;
    /// <summary>The service table as text, one line per service, into a granted buffer.</summary>
    public const int List = Base + 6;
    /// <summary>A component reports that another service misbehaves. Payload: ComplainRequest.</summary>
    public const int Complain = Base + 7;
    /// <summary>A dying component names the exception that kills it. Payload: CrashReport.</summary>
    public const int CrashReport = Base + 8;
    /// <summary>A started service finished its initialization.</summary>
    public const int InitDone = Base + 9;
    /// <summary>Answer to a heartbeat NOTIFY from RS.</summary>
    public const int Alive = Base + 10;
    /// <summary>RS to a service before a dynamic update (thesis §4.1.3): save your state now
    /// (ServiceRuntime.OnSaveState), then answer StateSaved; the old instance is stopped then,
    /// or when RS's stop time-out passes without the answer.</summary>
    public const int SaveState = Base + 11;
    /// <summary>A service's answer to SaveState: its state is saved (in DS), it may be stopped.</summary>
    public const int StateSaved = Base + 12;
}
