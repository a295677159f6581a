// Client side of the PCI-bus driver: what a PCI device driver calls at initialization (find
// its device, reserve it, read and write its configuration space) and what RS and the IOMMU
// driver call. Each is one SENDREC to Endpoint.Pci.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Pci;

public static class PciClient
{
    /// <summary>The first device the caller's policy grants, in bus order; ENOENT if none.</summary>
    public static int FirstDevice(out PciReply device) => Call(PciCall.FirstDev, new PciRequest(), out device);

    /// <summary>The next granted device after <paramref name="bdf"/>; ENOENT at the end.</summary>
    public static int NextDevice(int bdf, out PciReply device) => Call(PciCall.NextDev, new PciRequest { Bdf = bdf }, out device);

    /// <summary>Finds the first granted device with these ids.</summary>
    public static int Find(ushort vendor, ushort device, out PciReply found)
    {
        int r = FirstDevice(out found);
        while (r == Err.Ok && (found.Vendor != vendor || found.Device != device))
            r = NextDevice(found.Bdf, out found);
        return r;
    }

    /// <summary>Takes the device; the reply carries the I/O window and IRQ line now granted.</summary>
    public static int Reserve(int bdf, out PciReply resources) => Call(PciCall.Reserve, new PciRequest { Bdf = bdf }, out resources);

    public static int Release(int bdf) => Call(PciCall.Release, new PciRequest { Bdf = bdf }, out _);

    public static int ReadConfig(int bdf, int offset, int size, out uint value)
    {
        int r = Call(PciCall.ReadConfig, new PciRequest { Bdf = bdf, Offset = offset, Size = size }, out var reply);
        value = reply.Value;
        return r;
    }

    public static int WriteConfig(int bdf, int offset, int size, uint value) =>
        Call(PciCall.WriteConfig, new PciRequest { Bdf = bdf, Offset = offset, Size = size, Value = value }, out _);

    /// <summary>RS: the PCI grants of a driver's policy (may be called again to add more).</summary>
    public static int SetAcl(int endpoint, ReadOnlySpan<PciAclEntry> entries)
    {
        foreach (var request in SetAclMessages(endpoint, entries))
        {
            var m = request;
            int r = IpcCall.SendRec(Endpoint.Pci, ref m);
            if (r == Err.Ok) r = m.Type;
            if (r != Err.Ok) return r;
        }
        return Err.Ok;
    }

    /// <summary>The SetAcl requests for <paramref name="entries"/> (PciAclRequest.MaxEntries
    /// each), for a caller that sends them without waiting (RS, with SENDA).</summary>
    public static List<Message> SetAclMessages(int endpoint, ReadOnlySpan<PciAclEntry> entries)
    {
        var messages = new List<Message>();
        do
        {
            var req = new PciAclRequest { Endpoint = endpoint, Count = Math.Min(entries.Length, PciAclRequest.MaxEntries) };
            for (int i = 0; i < req.Count; i++) req.Entries[i] = entries[i];
            messages.Add(Message.Of(PciCall.SetAcl, req));
            entries = entries[req.Count..];
        }
        while (!entries.IsEmpty);
        return messages;
    }

    /// <summary>RS: the driver is gone; release its devices.</summary>
    public static int DelAcl(int endpoint) => Call(PciCall.DelAcl, new PciRequest { Endpoint = endpoint }, out _);

    /// <summary>The DelAcl request, for a caller that sends it without waiting (RS).</summary>
    public static Message DelAclMessage(int endpoint) => Message.Of(PciCall.DelAcl, new PciRequest { Endpoint = endpoint });

    /// <summary>IOMMU driver: does <paramref name="endpoint"/> hold device <paramref name="bdf"/>?</summary>
    public static int CheckOwner(int bdf, int endpoint) => Call(PciCall.CheckOwner, new PciRequest { Bdf = bdf, Endpoint = endpoint }, out _);

    private static int Call(int type, PciRequest req, out PciReply reply)
    {
        var m = Message.Of(type, req);
        int r = IpcCall.SendRec(Endpoint.Pci, ref m);
        if (r == Err.Ok) r = m.Type;
        reply = r == Err.Ok ? m.As<PciReply>() : default;
        return r;
    }
}
