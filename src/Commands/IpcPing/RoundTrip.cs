// The payload ipcping sends and expects back from echo: a sequence number (56 bytes, like every
// message payload).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Commands.IpcPing;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct RoundTrip
{
    public int Sequence;
}
