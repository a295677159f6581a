// Payloads of RS requests and replies (56 bytes each, checked by the layout tests).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Rs;

/// <summary>A text argument in the caller's arena: RS copies Length bytes through GrantId.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct BufferRequest
{
    public int GrantId;
    public int Length;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct ComplainRequest
{
    /// <summary>Endpoint of the service complained about.</summary>
    public int Target;
    public int Reason;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct CrashReportPayload
{
    public const int Exception = 1;
    public const int Panic = 2;

    public int Kind;
    public int Reserved;
    /// <summary>Exception type name or panic text, ASCII, NUL padded.</summary>
    public CrashText Text;
}

[System.Runtime.CompilerServices.InlineArray(48)]
public struct CrashText
{
    private byte _c0;

    public static CrashText From(string s)
    {
        var t = default(CrashText);
        FixedText.Write(t, s);
        return t;
    }

    public readonly override string ToString() => FixedText.Read(this);
}

/// <summary>Reply to Up/Refresh/Restart/Update/List.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct RsReply
{
    /// <summary>Endpoint of the (new) instance, when there is one.</summary>
    public int Endpoint;
    /// <summary>List: bytes written into the caller's buffer; otherwise the length of a message
    /// written there explaining a refusal (0 if none).</summary>
    public int Length;
}
