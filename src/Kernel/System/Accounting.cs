// Denial accounting (ARCHITECTURE.md §3, thesis Fig. 5.5): every refused request is counted
// per category, globally and per process, and the first few per process are logged. The
// counters are read with GETINFO(Denials) or from the host with Denials(). DMA the IOMMU
// refused (a device its driver programmed to reach memory outside its own buffers) is counted
// by the IOMMU itself and added to "DMA outside own buffers", next to the refusals of the
// IOMMU driver.
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private const int LoggedDenialsPerProcess = 5;
    private readonly long[] _denials = new long[DenialText.Count];

    private void CountDenial(Proc p, Denial why, string? detail = null)
    {
        _denials[(int)why]++;
        p.DenialCount++;
        if (p.DenialCount <= LoggedDenialsPerProcess)
            Log("kernel", $"denied {p.Name} ({p.Endpoint}): {DenialText.Describe(why)}{(detail is null ? "" : ": " + detail)}"
                          + (p.DenialCount == LoggedDenialsPerProcess ? " (further denials counted, not logged)" : ""));
    }

    private void CountCpuDenial(Proc p, int signal)
    {
        if (CpuFault.Of(signal) is not { } why) return;
        _denials[(int)why]++;
        p.DenialCount++;
    }

    /// <summary>A copy of the denial counters, indexed by <see cref="Denial"/>.</summary>
    public long[] Denials() => Invoke(DenialCounters);

    private long[] DenialCounters()
    {
        var c = (long[])_denials.Clone();
        c[(int)Denial.DeviceDmaNotAllowed] += _opt.Iommu?.TotalDenied ?? 0;
        return c;
    }
}
