// testdrv: the test driver of the recovery suite (thesis §4.1). A character-style service:
// Read returns its request counter and the last written value, Write stores a value; Fail
// makes it fail in one of the ways of Fig. 4.1 — a bad pointer (NullReferenceException), a
// wild pointer (access violation), a divide by zero, a panic, an exit, an infinite loop,
// blocking in IPC (heartbeats go unanswered), or a protocol violation a client complains
// about. It can also complain to RS about another service (ComplainAbout), as a server that
// detects a protocol violation would. It announces itself in DS (drv.chr.<label>) and tells RS
// when its initialization is done. Its one piece of state, the written value, is kept in DS
// as the private MEM entry state.<label> on every Write and restored at start, so a restart
// or a dynamic update does not lose it (DS knows the owner by label, not endpoint).
// Arguments after "testdrv": "die-in-init" exits (status 5) before InitDone; "hang-in-init"
// never reports InitDone (RS kills it at the initialization deadline); "watch" subscribes in DS
// to drv.chr.* and rs.restart.* (a dependent that reintegrates restarted drivers), and Check
// takes the next change on the caller's behalf.
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
    private static bool s_memoryOnly;
    private static string s_stateKey = "";

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        if (args.Contains("die-in-init")) return 5;
        if (args.Contains("hang-in-init")) Thread.Sleep(Timeout.Infinite);
        int r;
        // Once, no retry: RS released this instance only after DS had its label (docs/rs.md).
        r = DsClient.RetrieveLabelByEndpoint(IpcCall.Self, out string label);
        if (r != Err.Ok || label.Length == 0)
        {
            SysCall.Diag($"no label in DS for endpoint {IpcCall.Self} at start: {Err.Name(r)}");
            label = Channel.Current.Name;
        }
        s_stateKey = "state." + label;
        Span<byte> saved = stackalloc byte[8];
        r = DsClient.RetrieveMem(s_stateKey, saved, out int length);
        if (r == Err.Ok && length == 8) s_value = BitConverter.ToInt64(saved);
        // "memory-state": the value lives only in memory until RS asks for it before an
        // update (thesis §4.1.3); otherwise it is written to DS at every Write.
        s_memoryOnly = args.Contains("memory-state");
        ServiceRuntime.OnSaveState = SaveValue;
        if (args.Contains("watch"))
        {
            r = DsClient.Subscribe(@"drv\.chr\..*|rs\.restart\..*", 0);
            if (r != Err.Ok) SysCall.Diag($"cannot subscribe: {Err.Name(r)}");
        }
        r = DsClient.PublishU32("drv.chr." + label, 1, DsFlags.Overwrite);
        if (r != Err.Ok) SysCall.Diag($"cannot announce drv.chr.{label}: {Err.Name(r)}");
        ServiceRuntime.InitDone();
        var loop = new ServerLoop { NonBlockingReplies = true };
        loop.On(TestDriverCall.Read, DoRead).On(TestDriverCall.Write, DoWrite).On(TestDriverCall.Fail, DoFail)
            .On(TestDriverCall.ComplainAbout, DoComplainAbout).On(TestDriverCall.RestartOf, DoRestartOf).On(TestDriverCall.Check, DoCheck)
            .On(TestDriverCall.AskRs, DoAskRs);
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
        if (!s_memoryOnly) SaveValue();
        return Err.Ok;
    }

    private static void SaveValue()
    {
        int r = DsClient.PublishMem(s_stateKey, BitConverter.GetBytes(s_value), DsFlags.Private | DsFlags.Overwrite);
        if (r != Err.Ok) SysCall.Diag($"cannot save {s_stateKey}: {Err.Name(r)}");
    }

    private static int DoCheck(ref Message m)
    {
        int r = DsClient.Check(out string key, out int type, out int owner);
        var reply = new TestDriverCheckReply { Type = type, Owner = owner };
        FixedText.Write(reply.Key, key);
        m = Message.Of(0, reply);
        return r;
    }

    private static int DoAskRs(ref Message m)
    {
        var request = new Message(m.As<TestDriverRequest>().Mode);
        int r = IpcCall.SendRec(Endpoint.Rs, ref request);
        m = default;
        return r != Err.Ok ? r : request.Type;
    }

    private static int DoRestartOf(ref Message m)
    {
        int target = (int)m.As<TestDriverRequest>().Value;
        m = default;
        int r = DsClient.RetrieveLabelByEndpoint(target, out string label);
        if (r != Err.Ok) return r;
        r = RsClient.Restart(label, out string why);
        if (r != Err.Ok) SysCall.Diag($"restart of {label} refused: {why}");
        return r;
    }

    private static int DoComplainAbout(ref Message m)
    {
        int target = (int)m.As<TestDriverRequest>().Value;
        m = default;
        return RsClient.Complain(target);
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
