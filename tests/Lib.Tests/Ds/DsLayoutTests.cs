// Wire format of the data store: payloads are exactly 56 bytes and the request numbers and
// flag values are MINIX's and append-only (a golden test: changing one breaks every client).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Tests.Ds;

public sealed class DsLayoutTests
{
    [Fact]
    public void Payloads_Are56Bytes()
    {
        Assert.Equal(Message.PayloadSize, Unsafe.SizeOf<DsRequest>());
        Assert.Equal(Message.PayloadSize, Unsafe.SizeOf<DsReply>());
        Assert.Equal(DsLimits.MaxStrLength, Unsafe.SizeOf<DsString>());
        // The reply's tag sits where the request's does, so an answer names its request.
        Assert.Equal(52, (int)Marshal.OffsetOf<DsRequest>(nameof(DsRequest.Tag)));
        Assert.Equal(52, (int)Marshal.OffsetOf<DsReply>(nameof(DsReply.Tag)));
    }

    [Fact]
    public void WireNumbers_AreMinixAndAppendOnly()
    {
        Assert.Equal([0x800, 0x801, 0x802, 0x803, 0x804, 0x805, 0x806],
            [DsCall.Publish, DsCall.Retrieve, DsCall.Subscribe, DsCall.Check, DsCall.Delete, DsCall.Snapshot, DsCall.RetrieveLabel]);
        Assert.Equal([0x0E, 0x10, 0x20, 0x100, 0x200, 0x400, 0x800, 0x1000],
            [DsFlags.Private, DsFlags.Overwrite, DsFlags.Initial, DsFlags.TypeU32, DsFlags.TypeStr, DsFlags.TypeMem, DsFlags.TypeMap, DsFlags.TypeLabel]);
    }
}
