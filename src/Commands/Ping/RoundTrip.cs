// The payload ping sends and expects back from echo: a sequence number (56 bytes, like every
// message payload).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Commands.Ping;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct RoundTrip
{
    public int Sequence;
}
