// MINIX's asynsend: a message that must neither block the sender nor be lost when the
// receiver is not waiting at that instant. The component keeps one SENDA table (Capacity
// entries in an arena heap block); Send fills a free entry — one never used, or one the kernel
// marked Done — and hands the table to the kernel again, which delivers the message now if the
// destination is receiving (also as the answer to its SENDREC) and otherwise when it next
// receives. A driver answers a deferred request this way (thesis §3.3.4: a driver must never
// block on its client, and SENDNB would drop the answer if the client is busy elsewhere).
// Rules: bounded — EAGAIN when every entry is still pending; an entry is written with Flags
// cleared first and Valid set last, so the kernel never sees it half made; thread-safe (one
// lock). A message whose destination died is finished by the kernel with EDEADSRCDST.
using System.Runtime.CompilerServices;

namespace Bulkhead.Lib.Ipc;

public static class AsyncSender
{
    public const int Capacity = 64;

    private static readonly object s_lock = new();
    private static long s_table = -1; // guarded by s_lock

    /// <summary>Sends <paramref name="m"/> to <paramref name="dst"/> asynchronously: OK once the
    /// kernel has it (delivered or pending), EAGAIN if the table is full, or the SENDA error.</summary>
    public static int Send(int dst, in Message m)
    {
        int size = Unsafe.SizeOf<AsyncEntry>();
        lock (s_lock)
        {
            var ch = Channel.Current;
            if (s_table < 0)
            {
                long t = ArenaHeap.Allocate((long)Capacity * size);
                if (t < 0) return Err.ENOMEM;
                ch.Arena.Slice((int)t, Capacity * size).Clear();
                s_table = t;
            }
            int free = -1, used = 0;
            for (int i = 0; i < Capacity; i++)
            {
                int flags = Volatile.Read(ref ch.At<AsyncEntry>(s_table + (long)i * size).Flags);
                bool isFree = flags == AsyncEntry.Empty || (flags & AsyncEntry.Done) != 0;
                if (isFree && free < 0) free = i;
                else if (!isFree) used = i + 1;
            }
            if (free < 0) return Err.EAGAIN;
            ref var e = ref ch.At<AsyncEntry>(s_table + (long)free * size);
            Volatile.Write(ref e.Flags, AsyncEntry.Empty);
            e.Dst = dst;
            e.Result = 0;
            e.Msg = m;
            Volatile.Write(ref e.Flags, AsyncEntry.Valid);
            return IpcCall.SendA(s_table, Math.Max(used, free + 1));
        }
    }
}
