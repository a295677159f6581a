// Every message payload is exactly 56 bytes and every shared structure has its fixed size:
// these are wire formats between separately built processes.
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Tests.Messages;

public sealed class LayoutTests
{
    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;

    private static List<string> PayloadNames() =>
        typeof(Message).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.StructLayoutAttribute?.Size == Message.PayloadSize)
            .Select(t => t.FullName!).ToList();

    public static TheoryData<string> Payloads()
    {
        var data = new TheoryData<string>();
        foreach (var n in PayloadNames()) data.Add(n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Payload_Size_Is56Bytes(string typeName)
    {
        var t = typeof(Message).Assembly.GetType(typeName)!;
        Assert.Equal(Message.PayloadSize, SizeOf(t));
    }

    [Fact]
    public void Payloads_IncludeEveryKernelCallPayload()
    {
        var names = PayloadNames().ToHashSet();
        foreach (var t in new[] { typeof(SpawnRequest), typeof(EndpointReply), typeof(PrivCtlRequest), typeof(KillRequest), typeof(ExitInfo),
                                  typeof(SysCtlRequest), typeof(TimesRequest), typeof(TimesReply), typeof(SetAlarmRequest),
                                  typeof(SetAlarmReply), typeof(GetInfoRequest), typeof(GetInfoReply), typeof(NotifyPayload) })
            Assert.Contains(t.FullName!, names);
    }

    [Fact]
    public void SharedStructures_HaveTheirWireSizes()
    {
        Assert.Equal(64, Unsafe.SizeOf<Message>());
        Assert.Equal(56, Unsafe.SizeOf<Payload>());
        Assert.Equal(96, Unsafe.SizeOf<TrapRequest>());
        Assert.Equal(192, Unsafe.SizeOf<KernelPage>());
        Assert.Equal(80, Unsafe.SizeOf<AsyncEntry>());
        Assert.Equal(96, Unsafe.SizeOf<ProcInfo>());
        Assert.Equal(Bulkhead.Lib.Block.BlockIoVector.Size, Unsafe.SizeOf<Bulkhead.Lib.Block.BlockIoVector>());
        Assert.Equal(64, Unsafe.SizeOf<KInfo>());
        Assert.Equal(32 + 4 * PrivilegeBlock.MaxTargets + 4 * PrivilegeBlock.MaxIoRanges + 8, Unsafe.SizeOf<PrivilegeBlock>());
        Assert.Equal(16, Marshal.OffsetOf<KernelPage>(nameof(KernelPage.Msg)).ToInt32());
        Assert.Equal(32, Marshal.OffsetOf<TrapRequest>(nameof(TrapRequest.Msg)).ToInt32());
        Assert.Equal(8, Marshal.OffsetOf<AsyncEntry>(nameof(AsyncEntry.Result)).ToInt32());
    }

    [Fact]
    public void As_WrongSizedType_Throws()
    {
        var m = new Message(1);
        Assert.Throws<InvalidOperationException>(() => m.As<long>());
    }

    [Fact]
    public void Endpoint_MinixFormula_RoundTrips()
    {
        Assert.Equal(31744, Endpoint.Any);
        Assert.Equal(31743, Endpoint.None);
        Assert.Equal(31742, Endpoint.Self);
        foreach (int slot in new[] { -5, -1, 0, 1, 11, 255, 4095 })
            foreach (int gen in new[] { 0, 1, 2, 1000, Endpoint.MaxGeneration })
            {
                if (slot < 0 && gen != 0) continue;
                int ep = Endpoint.Make(gen, slot);
                Assert.Equal(slot, Endpoint.Slot(ep));
                Assert.Equal(gen, Endpoint.Generation(ep));
            }
        Assert.Equal(1, Endpoint.NextGeneration(Endpoint.MaxGeneration));
        Assert.True(Endpoint.Make(Endpoint.MaxGeneration, 4095) > 0);
    }

    [Fact]
    public void ErrorCodes_AreMinixNumbers()
    {
        Assert.Equal(-201, Err.ENOTREADY);
        Assert.Equal(-202, Err.EDEADSRCDST);
        Assert.Equal(-208, Err.ELOCKED);
        Assert.Equal(-209, Err.EBADCALL);
        Assert.Equal(-210, Err.ECALLDENIED);
        Assert.Equal(-211, Err.ETRAPDENIED);
        Assert.Equal(-212, Err.EBADREQUEST);
        Assert.Equal(-33, Err.EDOM);
        Assert.Equal(-22, Err.EINVAL);
        var names = typeof(Err).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral);
        foreach (var f in names) Assert.Equal(f.Name == "Ok" ? "OK" : f.Name, Err.Name((int)f.GetValue(null)!));
    }
}
