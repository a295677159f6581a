// NOTIFY (thesis §2.1.3): nonblocking, never buffered beyond one bit per sender. If the
// destination is receiving from the sender (and not waiting for a SENDREC reply) it gets the
// notification now; otherwise the bit is set and merged with any earlier one. The payload is
// filled by the kernel at delivery: a timestamp, pending interrupts for HARDWARE, pending
// kernel signals for SYSTEM.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel;

/// <summary>Kernel signal bits delivered in the SigSet of a notification from SYSTEM.</summary>
public static class KernelSignal
{
    /// <summary>A child of record exited; collect it with GETKSIG.</summary>
    public const ulong ChildExited = 1UL << 17;
}

public sealed partial class Kernel
{
    private void NotifyFrom(int srcEndpoint, int srcSlot, Proc dst)
    {
        if (dst.Receiving && !dst.ReplyPending && (dst.GetFrom == Endpoint.Any || dst.GetFrom == srcEndpoint))
        {
            dst.Receiving = false;
            dst.GetFrom = Endpoint.None;
            CompleteWith(dst, Err.Ok, NotifyMessage(dst, srcEndpoint));
            return;
        }
        Bits.Set(dst.NotifyPending, SenderIndex(srcSlot));
    }

    private Message NotifyMessage(Proc dst, int source)
    {
        var m = new Message(NotifyPayload.MessageType) { Source = source };
        ref var n = ref m.As<NotifyPayload>();
        n.Timestamp = UptimeNs;
        if (source == Endpoint.Hardware)
        {
            n.Interrupts = dst.PendingIrqs;
            dst.PendingIrqs = 0;
        }
        else if (source == Endpoint.System)
        {
            n.SigSet = dst.PendingSigs;
            dst.PendingSigs = 0;
        }
        return m;
    }

    private void RaiseSignal(Proc dst, ulong sig)
    {
        dst.PendingSigs |= sig;
        NotifyFrom(Endpoint.System, Endpoint.System, dst);
    }
}
