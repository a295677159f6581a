// Protocol of the trusted PCI-bus driver (thesis §3.3.3, Fig. 3.8 step 1). Every request is a
// SENDREC to Endpoint.Pci; the reply's m_type is the result, its payload a PciReply.
//   SetAcl    (RS only; PciAclRequest): the devices and classes a driver's policy grants
//             (`pci device`, `pci class`); added to what the endpoint already has. The answer's
//             payload is a PciAclRequest naming the Endpoint (and Count) it took — on a refusal
//             the request as it came — so RS knows whose ACL an answer is about.
//   DelAcl    (RS only; PciRequest.Endpoint): forget the endpoint's ACL and release its devices.
//   FirstDev / NextDev (PciRequest.Bdf = the previous device for NextDev): the next function,
//             in bus order, that the caller's ACL grants → Bdf, ids, class; ENOENT at the end.
//   Reserve   (Bdf): the caller takes the device; the PCI-bus driver reads its I/O BARs and
//             IRQ line from configuration space and gives the caller exactly those with PRIVCTL →
//             IoBase, IoSize (the first I/O BAR), Irq, and every I/O BAR in Bars (index = BAR
//             number; a PCI IDE function's bus-master block is BAR4). EBUSY if a live driver
//             holds it.
//   Release   (Bdf).
//   ReadConfig / WriteConfig (Bdf, Offset, Size 1/2/4, Value): configuration space of a device
//             the caller reserved. Writes to the header's identity, BARs, expansion ROM and
//             interrupt line are refused (EPERM): firmware assigned them and the kernel's
//             privileges were derived from them.
//   CheckOwner (IOMMU driver only; Bdf, Endpoint): OK if that endpoint holds the device.
// A request from an endpoint RS has not given an ACL yet is held (not answered) until the ACL
// arrives or a deadline passes (then EPERM): RS sends it just after starting the driver.
// Bdf is the requester id: bus << 8 | device << 3 | function.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Pci;

public static class PciCall
{
    public const int Base = Protocols.Pci;
    public const int SetAcl = Base + 0;
    public const int DelAcl = Base + 1;
    public const int FirstDev = Base + 2;
    public const int NextDev = Base + 3;
    public const int Reserve = Base + 4;
    public const int Release = Base + 5;
    public const int ReadConfig = Base + 6;
    public const int WriteConfig = Base + 7;
    public const int CheckOwner = Base + 8;

    public static string Bdf(int bdf) => $"{(bdf >> 8) & 0xFF:x2}:{(bdf >> 3) & 0x1F:x2}.{bdf & 7}";
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct PciRequest
{
    public int Bdf;
    public int Offset;
    public int Size;
    public uint Value;
    public int Endpoint;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct PciReply
{
    public int Bdf;
    public ushort Vendor;
    public ushort Device;
    /// <summary>Class code: class << 16 | subclass << 8 | programming interface.</summary>
    public uint ClassCode;
    public uint Value;
    public int IoBase;
    public int IoSize;
    public int Irq;
    /// <summary>The I/O BARs 0..5 (size 0: none, or a memory BAR).</summary>
    public PciIoBars Bars;
}

/// <summary>One I/O BAR: base port and number of ports.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PciIoBar
{
    public ushort Base;
    public ushort Size;
}

[System.Runtime.CompilerServices.InlineArray(PciIoBars.Count)]
public struct PciIoBars
{
    public const int Count = 6;

    private PciIoBar _b0;
}

/// <summary>One grant of an ACL: a vendor/device pair, or a class (with or without interface).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PciAclEntry
{
    public const byte KindDevice = 1, KindClass = 2, KindClassInterface = 3;

    public ushort Vendor;
    public ushort Device;
    public byte Class;
    public byte Subclass;
    public byte Interface;
    public byte Kind;

    public readonly bool Matches(ushort vendor, ushort device, uint classCode) => Kind switch
    {
        KindDevice => vendor == Vendor && device == Device,
        KindClass => (classCode >> 8) == (uint)((Class << 8) | Subclass),
        KindClassInterface => classCode == (uint)((Class << 16) | (Subclass << 8) | Interface),
        _ => false,
    };
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct PciAclRequest
{
    public const int MaxEntries = 6;

    public int Endpoint;
    public int Count;
    public PciAclEntries Entries;
}

[System.Runtime.CompilerServices.InlineArray(PciAclRequest.MaxEntries)]
public struct PciAclEntries
{
    private PciAclEntry _e0;
}
