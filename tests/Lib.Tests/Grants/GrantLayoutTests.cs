// Grant wire formats and arithmetic: the grant entry (shared by every grantor and the
// kernel), the kernel-call payloads, grant ids, and the arena heap's allocator.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Tests.Grants;

public sealed class GrantLayoutTests
{
    [Fact]
    public void GrantEntry_Is32BytesWithFixedOffsets()
    {
        Assert.Equal(32, Unsafe.SizeOf<GrantEntry>());
        Assert.Equal(GrantEntry.Size, Unsafe.SizeOf<GrantEntry>());
        Assert.Equal(0, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Flags)).ToInt32());
        Assert.Equal(4, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Seq)).ToInt32());
        Assert.Equal(8, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Grantee)).ToInt32());
        Assert.Equal(16, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Start)).ToInt32());
        Assert.Equal(24, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Length)).ToInt32());
        Assert.Equal(16, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.Granter)).ToInt32());
        Assert.Equal(20, Marshal.OffsetOf<GrantEntry>(nameof(GrantEntry.GrantId)).ToInt32());
    }

    [Fact]
    public void Payloads_Are56Bytes_AndTheVectorEntry40()
    {
        Assert.Equal(Message.PayloadSize, Unsafe.SizeOf<SetGrantRequest>());
        Assert.Equal(Message.PayloadSize, Unsafe.SizeOf<SafeCopyRequest>());
        Assert.Equal(Message.PayloadSize, Unsafe.SizeOf<VSafeCopyRequest>());
        Assert.Equal(40, Unsafe.SizeOf<VSafeCopyEntry>());
    }

    [Fact]
    public void Flags_AreMinixValues()
    {
        Assert.Equal(0x1, Grant.Read);
        Assert.Equal(0x2, Grant.Write);
        Assert.Equal(0x100, Grant.Used);
        Assert.Equal(0x200, Grant.Direct);
        Assert.Equal(0x400, Grant.Indirect);
        Assert.Equal(0x800, Grant.Magic);
        Assert.Equal(0x1000, Grant.Valid);
        Assert.Equal(5, Grant.MaxIndirectDepth);
    }

    [Fact]
    public void GrantId_IsSeqShifted20OrIndex_NeverNegative()
    {
        Assert.Equal((3 << 20) | 17, Grant.MakeId(3, 17));
        Assert.Equal(17, Grant.Index(Grant.MakeId(3, 17)));
        Assert.Equal(3, Grant.Seq(Grant.MakeId(3, 17)));
        int max = Grant.MakeId(Grant.MaxSeq - 1, Grant.MaxEntries - 1);
        Assert.True(max > 0);
        Assert.Equal(int.MaxValue, max);
        Assert.Equal(0, Grant.NextSeq(Grant.MaxSeq - 1));
        Assert.Equal(1, Grant.NextSeq(0));
    }

    [Fact]
    public void RangeAllocator_AlignsFitsFreesAndCoalesces()
    {
        var h = new RangeAllocator(1000, 1000 + 4096);
        Assert.Equal(1008, h.Start);
        long a = h.Allocate(1), b = h.Allocate(100), c = h.Allocate(16);
        Assert.Equal([1008, 1024, 1136], new[] { a, b, c });
        Assert.Equal(Err.EINVAL, h.Allocate(0));
        Assert.Equal(Err.EINVAL, h.Allocate(-5));
        Assert.Equal(Err.ENOMEM, h.Allocate(1L << 40));
        Assert.Equal(Err.Ok, h.Free(b));
        Assert.Equal(Err.EINVAL, h.Free(b));
        Assert.Equal(Err.EINVAL, h.Free(a + 1));
        Assert.Equal(b, h.Allocate(112));   // first fit reuses the hole exactly
        Assert.Equal(Err.Ok, h.Free(a));
        Assert.Equal(Err.Ok, h.Free(c));
        Assert.Equal(Err.Ok, h.Free(b));
        // Everything coalesced back into one block.
        Assert.Equal(h.End - h.Start, h.Available);
        Assert.Equal(h.Start, h.Allocate(h.End - h.Start));
        Assert.Equal(Err.ENOMEM, h.Allocate(1));
    }

    [Fact]
    public void RangeAllocator_ThreadSafe_NoOverlaps()
    {
        var h = new RangeAllocator(0, 1 << 20);
        var blocks = new System.Collections.Concurrent.ConcurrentBag<(long At, long Len)>();
        Parallel.For(0, 8, t =>
        {
            var mine = new List<long>();
            var rng = new Random(t);
            for (int i = 0; i < 2000; i++)
            {
                if (mine.Count > 0 && rng.Next(3) == 0)
                {
                    int k = rng.Next(mine.Count);
                    Assert.Equal(Err.Ok, h.Free(mine[k]));
                    mine.RemoveAt(k);
                }
                else
                {
                    long at = h.Allocate(rng.Next(1, 200));
                    if (at >= 0) mine.Add(at);
                }
            }
            foreach (var at in mine) blocks.Add((at, 0));
        });
        var starts = blocks.Select(b => b.At).ToList();
        Assert.Equal(starts.Count, starts.Distinct().Count());
        Assert.Equal(starts.Count, h.BlockCount);
    }
}
