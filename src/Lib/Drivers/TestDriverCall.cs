// Protocol of the test driver (src/Drivers/Test): a small character-style service that reads
// and writes a buffer, and can be told to fail in each way the thesis lists (§4.1, Fig. 4.1).
// Its arguments (after "testdrv") select faults in initialization: "die-in-init" exits before
// InitDone, "hang-in-init" never reports InitDone; "watch" subscribes to driver and restart events;
// "memory-state" keeps the written value only in memory until RS asks for it before an update.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Drivers;

public static class TestDriverCall
{
    public const int Base = Protocols.TestDriver;
    /// <summary>Read: the reply payload carries the instance's request counter and its endpoint.</summary>
    public const int Read = Base + 1;
    /// <summary>Write: stores the first 8 payload bytes; Read returns them.</summary>
    public const int Write = Base + 2;
    /// <summary>Fail in the way TestDriverRequest.Mode names.</summary>
    public const int Fail = Base + 3;
    /// <summary>Complain to RS about the service at endpoint TestDriverRequest.Value (thesis
    /// §4.1.3); the reply's type is RS's answer. Only allowed if this driver's policy names the
    /// target in its `driver` key.</summary>
    public const int ComplainAbout = Base + 4;
    /// <summary>DS CHECK on the driver's behalf: the next changed key among its subscriptions
    /// (started with the argument "watch": drv.chr.* and rs.restart.*, as a server that
    /// reintegrates restarted drivers would). Reply: TestDriverCheckReply; type = DS's answer.</summary>
    public const int Check = Base + 5;
    /// <summary>SENDREC to RS a request of type TestDriverRequest.Mode with an empty payload, as
    /// a (misbehaving) service would; the reply's type is RS's answer.</summary>
    public const int AskRs = Base + 6;
    /// <summary>Have RS restart the service at endpoint TestDriverRequest.Value (its label from
    /// DS), as a server whose policy's `driver` key names it may (Fig. 2.6); the reply's type
    /// is RS's answer.</summary>
    public const int RestartOf = Base + 7;

    public const int BadPointer = 1;
    public const int DivideByZero = 2;
    public const int Panic = 3;
    public const int Exit = 4;
    public const int InfiniteLoop = 5;
    /// <summary>Block in IPC forever (RECEIVE from CLOCK with no alarm): heartbeats go unanswered.</summary>
    public const int BlockInIpc = 6;
    /// <summary>From now on answer every Read with a malformed reply (a client should complain).</summary>
    public const int ProtocolViolation = 7;
    /// <summary>A wild pointer far from null: an access violation, not a NullReference.</summary>
    public const int WildPointer = 8;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct TestDriverRequest
{
    public int Mode;
    public int Reserved;
    public long Value;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct TestDriverReply
{
    public const long Magic = 0x7465737464727600; // "testdrv\0"

    public long Magic0;
    public long Requests;
    public long Value;
    public int Endpoint;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct TestDriverCheckReply
{
    /// <summary>DS type flag of the changed key.</summary>
    public int Type;
    /// <summary>Endpoint of the key's owner.</summary>
    public int Owner;
    /// <summary>The key, ASCII, NUL padded (FixedText).</summary>
    public TestDriverKey Key;
}

[System.Runtime.CompilerServices.InlineArray(48)]
public struct TestDriverKey
{
    private byte _c0;
}
