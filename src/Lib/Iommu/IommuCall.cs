// Protocol of the trusted IOMMU driver (thesis §3.3.2 "Direct Memory Access", Fig. 3.8 step 2).
// Every request is a SENDREC to Endpoint.Iommu; the reply's m_type is the result.
//   Map     (driver; IommuRequest Bdf, BusAddress, Length): let the driver's device reach
//           [BusAddress, +Length). Allowed only if the caller holds the device (asked of the
//           PCI-bus driver) and the range is memory the caller itself pinned with MAPDMA
//           (asked of the kernel with UMAP); otherwise EPERM, counted as a DMA denial.
//   Unmap   (driver; same fields): withdraw that range from the device.
//   Reset   (RS only; Endpoint): the driver is gone — every device domain it programmed is
//           reset before anything else can happen to its memory.
//   Status  (Bdf): IommuReply.Denied = DMA accesses of the device the IOMMU refused so far.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Iommu;

public static class IommuCall
{
    public const int Base = Protocols.Iommu;
    public const int Map = Base + 0;
    public const int Unmap = Base + 1;
    public const int Reset = Base + 2;
    public const int Status = Base + 3;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct IommuRequest
{
    public int Bdf;
    public int Endpoint;
    public ulong BusAddress;
    public long Length;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct IommuReply
{
    public long Denied;
    public int Domains;
}

public static class IommuClient
{
    public static int Map(int bdf, ulong busAddress, long length) =>
        Call(IommuCall.Map, new IommuRequest { Bdf = bdf, BusAddress = busAddress, Length = length }, out _);

    public static int Unmap(int bdf, ulong busAddress, long length) =>
        Call(IommuCall.Unmap, new IommuRequest { Bdf = bdf, BusAddress = busAddress, Length = length }, out _);

    /// <summary>RS: reset every domain <paramref name="endpoint"/> programmed.</summary>
    public static int Reset(int endpoint) => Call(IommuCall.Reset, new IommuRequest { Endpoint = endpoint }, out _);

    /// <summary>The Reset request, for a caller that sends it without waiting (RS, with SENDA).</summary>
    public static Message ResetMessage(int endpoint) => Message.Of(IommuCall.Reset, new IommuRequest { Endpoint = endpoint });

    public static int Status(int bdf, out IommuReply reply) => Call(IommuCall.Status, new IommuRequest { Bdf = bdf }, out reply);

    private static int Call(int type, IommuRequest req, out IommuReply reply)
    {
        var m = Message.Of(type, req);
        int r = IpcCall.SendRec(Endpoint.Iommu, ref m);
        if (r == Err.Ok) r = m.Type;
        reply = r == Err.Ok ? m.As<IommuReply>() : default;
        return r;
    }
}
