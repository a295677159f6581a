// The 64-byte MINIX message (thesis Fig. 2.3): a header of source endpoint and type, then a
// 56-byte payload. The kernel stamps Source; a component cannot forge it. Each payload is a
// fixed-layout struct of exactly 56 bytes, read and written through As<T>(); the tests check
// every payload's size, so a struct that grows past the payload fails the build's tests, not a
// running system.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Ipc;

[InlineArray(Message.PayloadSize)]
public struct Payload
{
    private byte _element0;
}

[StructLayout(LayoutKind.Sequential, Size = Message.Size)]
public struct Message
{
    public const int Size = 64;
    public const int PayloadSize = 56;

    /// <summary>Sender endpoint, stamped by the kernel.</summary>
    public int Source;
    /// <summary>Request or reply type; for replies conventionally the result code.</summary>
    public int Type;
    public Payload Payload;

    public Message(int type) { Source = 0; Type = type; Payload = default; }

    /// <summary>Views the payload as a typed struct. T must be exactly 56 bytes.</summary>
    [UnscopedRef]
    public ref T As<T>() where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() != PayloadSize) ThrowBadPayload(typeof(T).Name, Unsafe.SizeOf<T>());
        return ref Unsafe.As<Payload, T>(ref Payload);
    }

    public static Message Of<T>(int type, in T payload) where T : unmanaged
    {
        var m = new Message(type);
        m.As<T>() = payload;
        return m;
    }

    public override readonly string ToString() => $"msg(src={Source}, type={Type})";

    private static void ThrowBadPayload(string name, int size) =>
        throw new InvalidOperationException($"payload {name} is {size} bytes, not {PayloadSize}");
}
