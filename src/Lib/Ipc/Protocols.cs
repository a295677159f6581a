// The registry of message numbers: the base of every protocol, in one place. A protocol's
// requests are its base plus a small number (its *Call class: KernelCall, RsCall, …), so each
// protocol owns the range [base, base + Span). Ranges never overlap, as in MINIX's com.h where
// each server has its own *_BASE: a request sent to the wrong server must never be mistaken for
// a valid request of another protocol, and a log or a denial that shows a number names one call.
// Rules: append-only. Never renumber or reuse a base, even of a protocol that is gone (old
// binaries and DS backups may still carry its numbers); a new protocol takes the next free base
// (after 0xF00 comes 0x1100: 0x1000 is NOTIFY). Numbers below the first base
// are no protocol's: the echo server answers any number, and tests use small numbers for their
// own messages. tests/Lib.Tests/Messages/NumberTests.cs holds every request number as a
// golden list.
namespace Bulkhead.Lib.Ipc;

public static class Protocols
{
    /// <summary>Room of one protocol: its requests are [base, base + Span).</summary>
    public const int Span = 0x100;

    /// <summary>Kernel calls to SYSTEM (KernelCall; MINIX KERNEL_CALL).</summary>
    public const int Kernel = 0x600;
    /// <summary>The driver manager (RsCall; MINIX RS_RQ_BASE).</summary>
    public const int Rs = 0x700;
    /// <summary>The data store (DsCall; MINIX DS_RQ_BASE).</summary>
    public const int Ds = 0x800;
    /// <summary>The test driver (TestDriverCall).</summary>
    public const int TestDriver = 0x900;
    /// <summary>Network drivers (NetDriverCall; MINIX's DL_* requests).</summary>
    public const int NetDriver = 0xA00;
    /// <summary>The trusted PCI-bus driver (PciCall).</summary>
    public const int Pci = 0xB00;
    /// <summary>The trusted IOMMU driver (IommuCall).</summary>
    public const int Iommu = 0xC00;
    /// <summary>The process manager (PmCall). It shared 0x800 with DS until it got its own base.</summary>
    public const int Pm = 0xD00;
    /// <summary>The network server's socket calls (InetCall).</summary>
    public const int Inet = 0xE00;
    /// <summary>Block-device drivers (BlockDriverCall; MINIX's BDEV_* requests).</summary>
    public const int BlockDriver = 0xF00;

    /// <summary>VFS's requests to file-system servers (FsCall; MINIX's REQ_*).</summary>
    public const int Fs = 0x1100;
    /// <summary>Programs' file calls to VFS (VfsCall).</summary>
    public const int Vfs = 0x1200;

    /// <summary>NOTIFY_MESSAGE: the one number of a notification, from the kernel (MINIX's 0x1000).</summary>
    public const int Notify = 0x1000;
}
