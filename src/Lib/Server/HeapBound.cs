// A bound on the garbage a long-running core server (PM, DS) carries between collections. The
// .NET GC collects generation 0 only after a budget it derives from the CPU cache: 2 MiB on
// the reference VM (measured, JIT and NativeAOT alike), more on machines with a larger cache. PM
// and DS allocate a few hundred bytes per request and keep almost none of it, so for thousands
// of requests every request's garbage stayed resident: RSS grew by ~0.8 KB per `service
// up`/`down` cycle with no plateau over 1,300 cycles (issue 9 §3; numbers in docs/ds.md).
// After each request, Check collects generations 0 and 1 once Budget bytes have been allocated
// since the last collection; the collector then reuses the same pages, and RSS levels off.
// Generation 1 too: a DS value lives from its publish to its overwrite, survives one
// collection, and would otherwise pile up in generation 1 (+3 MB over 600 overwrites of a
// 16 KiB value when only generation 0 was collected). Cost: one blocking collection of a heap
// of a few MB at most per Budget bytes allocated. Single-threaded like the server loops it
// serves. A server asks for it with ServerLoop.BoundGarbage; the loop calls Check after every
// handler and notification.
namespace Bulkhead.Lib.Server;

public static class HeapBound
{
    /// <summary>Bytes a server may allocate between two collections.</summary>
    public const long Budget = 256 * 1024;

    private static long s_allocatedAtLastCollection;

    /// <summary>Collects generations 0 and 1 when Budget bytes were allocated since the last time.</summary>
    public static void Check()
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        if (allocated - s_allocatedAtLastCollection < Budget) return;
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);
        s_allocatedAtLastCollection = GC.GetAllocatedBytesForCurrentThread();
    }
}
