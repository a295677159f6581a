// Reports services send RS (thesis §4.1): InitDone, Alive (a heartbeat's answer), StateSaved
// (before a dynamic update) and CrashReport (last words). A report is never answered
// (EDONTREPLY): its sender may be gone already, and RS never waits for a service. A report
// from an endpoint that is no service's is ignored.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    private int DoInitDone(ref Message m)
    {
        if (ServiceAt(m.Source) is { } from) OnInitDone(from);
        return Err.EDONTREPLY;
    }

    /// <summary>Nothing to do: the message itself was the sign of life (SignOfLife).</summary>
    private static int DoAlive(ref Message m) => Err.EDONTREPLY;

    private int DoStateSaved(ref Message m)
    {
        if (ServiceAt(m.Source) is { State: ServiceState.Updating, SavingState: true } from) StopForUpdate(from);
        return Err.EDONTREPLY;
    }

    private int DoCrashReport(ref Message m)
    {
        if (ServiceAt(m.Source) is { } from)
        {
            var c = m.As<CrashReportPayload>();
            from.CrashReport = (c.Kind, c.Text.ToString());
        }
        return Err.EDONTREPLY;
    }
}
