// The process manager's (PM) protocol. PM owns process creation and exit: RS asks it to start
// a service with given privileges; PM starts it with the SPAWN kernel call, keeps the caller as
// the parent of record, and when the kernel reports an exit PM queues a report for that parent
// and NOTIFYs it; the parent collects reports one at a time with Wait.
// Request numbers are wire constants: Protocols.Pm plus a number, explicit and append-only.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Pm;

public static class PmCall
{
    public const int Base = Protocols.Pm;
    /// <summary>Start a process. Payload: Rs.BufferRequest naming a StartHeader + text + image.</summary>
    public const int Start = Base + 1;
    /// <summary>Signal a child of record. Payload: KillRequest.</summary>
    public const int Kill = Base + 2;
    /// <summary>Collect one exit report of a child of record. Reply payload: ExitInfo (Endpoint NONE = none).</summary>
    public const int Wait = Base + 3;
    /// <summary>Start a restartable boot process again (SPAWN Boot). Payload: KillRequest with
    /// Target = its slot. Reply payload: EndpointReply.</summary>
    public const int StartBoot = Base + 4;
}

/// <summary>Start request buffer: this header, then TextLength bytes of "name X\npath Y\narg A\n…",
/// then ImageLength bytes of an in-memory binary (may be 0: then path is executed).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StartHeader
{
    public PrivilegeBlock Privileges;
    public int TextLength;
    public int ImageLength;
    public int ArenaKiB;
    /// <summary>A kernel image object to start (SysCall.ImageCreate) instead of an image or a path; 0 for none.</summary>
    public int ImageId;
    /// <summary>StartHeader.Held or 0.</summary>
    public int Flags;

    /// <summary>Start the process held (SpawnRequest.Held): the requester releases it with
    /// SysCall.PrivCtlAllow once it is set up.</summary>
    public const int Held = 1;
}
