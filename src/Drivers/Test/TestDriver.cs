// testdrv: the test driver of the recovery suite (thesis §4.1). A character-style service:
// Read returns its request counter and the last written value, Write stores a value; Fail
// makes it fail in one of the ways of Fig. 4.1 — a bad pointer (NullReferenceException), a
// wild pointer (access violation), a divide by zero, a panic, an exit, an infinite loop,
// blocking in IPC (heartbeats go unanswered), or a protocol violation a client complains
// about. Like every driver it is stateless across restarts: it announces itself in DS
// (drv.chr.<label>) and tells RS when its initialization is done.
using Bulkhead.Lib.Drivers;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Test;

public static unsafe class TestDriver
{
    private static long s_requests;
    private static long s_value;
    private static bool s_violate;

    public static int Run(string[] args)
    {
        _ = args;
        ServiceRuntime.Start();
        string label = Channel.Current.Name;
        int r = DsClient.PublishU32("drv.chr." + label, 1, DsFlags.Overwrite);
        if (r != Err.Ok) SysCall.Diag($"cannot announce drv.chr.{label}: {Err.Name(r)}");
        ServiceRuntime.InitDone();
        var loop = new ServerLoop { NonBlockingReplies = true };
        loop.On(TestDriverCall.Read, DoRead).On(TestDriverCall.Write, DoWrite).On(TestDriverCall.Fail, DoFail);
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    private static int DoRead(ref Message m)
    {
        s_requests++;
        var reply = new TestDriverReply
        {
            Magic0 = s_violate ? 0 : TestDriverReply.Magic,
            Requests = s_requests,
            Value = s_value,
            Endpoint = IpcCall.Self,
        };
        m = Message.Of(0, reply);
        return s_violate ? Err.EIO - 1000 : Err.Ok;
    }

    private static int DoWrite(ref Message m)
    {
        s_requests++;
        s_value = m.As<TestDriverRequest>().Value;
        return Err.Ok;
    }

    private static int DoFail(ref Message m)
    {
        int mode = m.As<TestDriverRequest>().Mode;
        switch (mode)
        {
            case TestDriverCall.BadPointer:
                *(int*)24 = 1;
                break;
            case TestDriverCall.WildPointer:
                *(long*)0x7fff_dead_0000 = 1;
                break;
            case TestDriverCall.DivideByZero:
                long zero = m.As<TestDriverRequest>().Value;
                s_value = 1 / zero;
                break;
            case TestDriverCall.Panic:
                ServiceRuntime.Panic("told to panic");
                break;
            case TestDriverCall.Exit:
                Environment.Exit(3);
                break;
            case TestDriverCall.InfiniteLoop:
                while (true) s_value++;
            case TestDriverCall.BlockInIpc:
                IpcCall.Receive(Endpoint.Clock, out _);
                break;
            case TestDriverCall.ProtocolViolation:
                s_violate = true;
                return Err.Ok;
        }
        return Err.EINVAL;
    }
}
