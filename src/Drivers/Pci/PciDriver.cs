// The trusted PCI-bus driver (thesis §3.3.3 and the RTL8139 case study of §3.4). It alone
// reaches PCI configuration space (configuration mechanism #1, ports 0xCF8/0xCFC, granted by
// its boot.conf entry), and it hands a driver the I/O window and IRQ line of a device only if
// RS said the driver's policy grants that device (`pci device`) or its class (`pci class`).
// At start it scans bus 0 (the machine model has no PCI-to-PCI bridges) like firmware and
// sizes every I/O BAR (BAR0..5; a reservation grants all of them: a PCI IDE function's
// registers are its BAR4); then it serves PciCall requests (protocol: Lib/Pci/PciCall.cs).
// Rules: ACLs come only from RS, ownership questions only from the IOMMU driver; a driver sees
// and touches only devices its ACL grants; it reads the configuration space of any device its
// ACL grants (to tell apart devices with the same ids before it reserves one, as MINIX's
// drivers do with pci_attr_r8) and writes only that of devices it holds, and never the
// registers the kernel's privileges were derived from (ids, BARs, ROM, IRQ line).
// A device is held until its driver releases it or RS reports the driver gone (DelAcl).
// RS restarts the PCI-bus driver like any boot process (docs/rs.md, "Boot processes"): who
// holds which device is kept in DS (DsBackup "pci.owners", after every change and at every
// heartbeat) and read back at start, keeping only owners that are still alive; the ACLs come
// again from RS, which resends them to a new instance. A running driver keeps its device.
// Tables are bounded (MaxAcls endpoints × MaxAclEntries, MaxFunctions devices, MaxHeld held
// requests). Every refusal is EPERM and counted in the kernel's Fig. 5.5 table (request
// rejected by target). Replies go out with SENDNB: a trusted driver never blocks on a client.
using System.Globalization;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Pci;

public sealed class PciDriver
{
    public const int ConfigAddressPort = 0xCF8, ConfigDataPort = 0xCFC;
    public const int MaxAcls = 64, MaxAclEntries = 16, MaxFunctions = 64, MaxHeld = 16;
    public const long HeldDeadlineNs = 2_000_000_000;

    private const int VendorOffset = 0x00, CommandOffset = 0x04, ClassOffset = 0x08, HeaderOffset = 0x0C;
    private const int Bar0Offset = 0x10, BarEnd = 0x28, RomOffset = 0x30, InterruptLineOffset = 0x3C;

    private sealed class Function
    {
        public int Bdf;
        public ushort Vendor, Device;
        public uint ClassCode;
        public int IoBase, IoSize, Irq;
        public readonly int[] BarBase = new int[PciIoBars.Count], BarSize = new int[PciIoBars.Count];
        public int Owner = Endpoint.None;
    }

    private readonly record struct Held(int Source, Message Request, long Deadline);

    private readonly List<Function> _functions = [];
    private readonly Dictionary<int, List<PciAclEntry>> _acls = [];
    private readonly List<Held> _held = [];
    // Replies with SENDNB (no driver may block the PCI-bus driver), except to RS, which sends its
    // requests with SENDA, waits for their answers before releasing a held driver (docs/rs.md)
    // and must get every one although it may be busy at the instant of the reply.
    private readonly ServerLoop _loop = new() { NonBlockingReplies = true, BlockingRepliesTo = Endpoint.Rs };
    private readonly DsBackup _backup = new("pci.owners");

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        var d = new PciDriver();
        int r = d.Scan();
        if (r != Err.Ok)
        {
            SysCall.Diag($"cannot scan the bus: {Err.Name(r)}");
            return 1;
        }
        foreach (var f in d._functions)
            SysCall.Diag($"{PciCall.Bdf(f.Bdf)} {f.Vendor:x4}:{f.Device:x4} class {f.ClassCode:x6}"
                         + (f.IoSize > 0 ? $" io 0x{f.IoBase:x}/{f.IoSize}" : "") + (f.Irq is > 0 and < 16 ? $" irq {f.Irq}" : ""));
        d.RestoreOwners();
        d._loop.On(PciCall.SetAcl, d.DoSetAcl)
            .On(PciCall.DelAcl, d.DoDelAcl)
            .On(PciCall.FirstDev, d.DoFirstDev)
            .On(PciCall.NextDev, d.DoNextDev)
            .On(PciCall.Reserve, d.DoReserve)
            .On(PciCall.Release, d.DoRelease)
            .On(PciCall.ReadConfig, d.DoReadConfig)
            .On(PciCall.WriteConfig, d.DoWriteConfig)
            .On(PciCall.CheckOwner, d.DoCheckOwner);
        d._loop.OnNotify = d.OnNotify;
        r = d._loop.Run();
        return r == Err.Ok ? 0 : 1;
    }

    // ---- Configuration space through the ports (mechanism #1) ----

    private static int ConfigRead(int bdf, int offset, int size, out uint value)
    {
        value = 0xFFFFFFFF;
        int r = SysCall.OutPort(ConfigAddressPort, 4, 0x80000000u | (uint)(bdf << 8) | (uint)(offset & 0xFC));
        return r != Err.Ok ? r : SysCall.InPort(ConfigDataPort + (offset & 3), size, out value);
    }

    private static int ConfigWrite(int bdf, int offset, int size, uint value)
    {
        int r = SysCall.OutPort(ConfigAddressPort, 4, 0x80000000u | (uint)(bdf << 8) | (uint)(offset & 0xFC));
        return r != Err.Ok ? r : SysCall.OutPort(ConfigDataPort + (offset & 3), size, value);
    }

    private int Scan()
    {
        for (int dev = 0; dev < 32; dev++)
        {
            int functions = 1;
            for (int fn = 0; fn < functions && _functions.Count < MaxFunctions; fn++)
            {
                int bdf = dev << 3 | fn;
                int r = ConfigRead(bdf, VendorOffset, 4, out uint ids);
                if (r != Err.Ok) return r;
                if ((ids & 0xFFFF) == 0xFFFF) continue;
                ConfigRead(bdf, ClassOffset, 4, out uint cls);
                ConfigRead(bdf, HeaderOffset, 4, out uint hdr);
                if (fn == 0 && (hdr & 0x00800000) != 0) functions = 8;
                var f = new Function { Bdf = bdf, Vendor = (ushort)ids, Device = (ushort)(ids >> 16), ClassCode = cls >> 8 };
                SizeIoBars(f);
                ConfigRead(bdf, InterruptLineOffset, 1, out uint line);
                f.Irq = (int)line;
                _functions.Add(f);
            }
        }
        return Err.Ok;
    }

    /// <summary>Every I/O BAR: base as firmware set it, size by the all-ones probe; IoBase and
    /// IoSize are the first of them. A 64-bit memory BAR takes two slots.</summary>
    private static void SizeIoBars(Function f)
    {
        for (int i = 0; i < PciIoBars.Count; i++)
        {
            int offset = Bar0Offset + 4 * i;
            ConfigRead(f.Bdf, offset, 4, out uint bar);
            if ((bar & 1) == 0)
            {
                if ((bar & 0x6) == 0x4) i++; // 64-bit memory BAR: the next slot is its high half
                continue;
            }
            ConfigWrite(f.Bdf, offset, 4, 0xFFFFFFFF);
            ConfigRead(f.Bdf, offset, 4, out uint mask);
            ConfigWrite(f.Bdf, offset, 4, bar);
            uint size = ~(mask & 0xFFFFFFFC) + 1;
            if (size is 0 or > 0x10000) continue;
            int b = (int)(bar & 0xFFFC);
            int n = (int)Math.Min(size, 0x10000u - (uint)b);
            if (n <= 0 || b == 0) continue;
            (f.BarBase[i], f.BarSize[i]) = (b, n);
            if (f.IoSize == 0) (f.IoBase, f.IoSize) = (b, n);
        }
    }

    // ---- Requests ----

    private int DoSetAcl(ref Message m)
    {
        if (m.Source != Endpoint.Rs) return Deny(m.Source);
        var req = m.As<PciAclRequest>();
        if (req.Count is < 0 or > PciAclRequest.MaxEntries) return Err.EINVAL;
        if (!_acls.TryGetValue(req.Endpoint, out var acl))
        {
            if (_acls.Count >= MaxAcls) return Err.ENOSPC;
            _acls[req.Endpoint] = acl = [];
        }
        if (acl.Count + req.Count > MaxAclEntries) return Err.ENOSPC;
        for (int i = 0; i < req.Count; i++) acl.Add(req.Entries[i]);
        ServeHeld(req.Endpoint, deadlinePassed: false);
        m = Message.Of(0, new PciAclRequest { Endpoint = req.Endpoint, Count = req.Count }); // names whose ACL this answers
        return Err.Ok;
    }

    private int DoDelAcl(ref Message m)
    {
        if (m.Source != Endpoint.Rs) return Deny(m.Source);
        int ep = m.As<PciRequest>().Endpoint;
        _acls.Remove(ep);
        foreach (var f in _functions)
            if (f.Owner == ep) f.Owner = Endpoint.None;
        _held.RemoveAll(h => h.Source == ep);
        SaveOwners();
        m = default;
        return Err.Ok;
    }

    private int DoFirstDev(ref Message m) => NextGranted(ref m, -1);

    private int DoNextDev(ref Message m) => NextGranted(ref m, m.As<PciRequest>().Bdf);

    private int NextGranted(ref Message m, int after)
    {
        if (!HasAcl(ref m, out var acl)) return Err.EDONTREPLY;
        foreach (var f in _functions)
        {
            if (f.Bdf <= after || !Grants(acl, f)) continue;
            m = Message.Of(0, Describe(f));
            return Err.Ok;
        }
        return Err.ENOENT;
    }

    private int DoReserve(ref Message m)
    {
        if (!HasAcl(ref m, out var acl)) return Err.EDONTREPLY;
        int caller = m.Source;
        var f = Find(m.As<PciRequest>().Bdf);
        if (f is null || !Grants(acl, f)) return Deny(caller);
        if (f.Owner != Endpoint.None && f.Owner != caller) return Err.EBUSY;
        for (int i = 0; i < PciIoBars.Count; i++)
        {
            if (f.BarSize[i] == 0) continue;
            int r = SysCall.PrivCtlAddIo(caller, f.BarBase[i], f.BarSize[i]);
            if (r != Err.Ok) return r;
        }
        if (f.Irq is > 0 and < 16)
        {
            int r = SysCall.PrivCtlAddIrq(caller, f.Irq);
            if (r != Err.Ok) return r;
        }
        f.Owner = caller;
        SaveOwners();
        m = Message.Of(0, Describe(f));
        return Err.Ok;
    }

    private int DoRelease(ref Message m)
    {
        var f = Find(m.As<PciRequest>().Bdf);
        if (f is null || f.Owner != m.Source) return Deny(m.Source);
        f.Owner = Endpoint.None;
        SaveOwners();
        m = default;
        return Err.Ok;
    }

    private int DoReadConfig(ref Message m)
    {
        var req = m.As<PciRequest>();
        var f = Find(req.Bdf);
        if (f is null || (f.Owner != m.Source && !(_acls.TryGetValue(m.Source, out var acl) && Grants(acl, f)))) return Deny(m.Source);
        if (!ValidAccess(req.Offset, req.Size)) return Err.EINVAL;
        int r = ConfigRead(f.Bdf, req.Offset, req.Size, out uint v);
        if (r != Err.Ok) return r;
        m = Message.Of(0, new PciReply { Bdf = f.Bdf, Value = v });
        return Err.Ok;
    }

    private int DoWriteConfig(ref Message m)
    {
        var req = m.As<PciRequest>();
        var f = Find(req.Bdf);
        if (f is null || f.Owner != m.Source) return Deny(m.Source);
        if (!ValidAccess(req.Offset, req.Size)) return Err.EINVAL;
        if (Protected(req.Offset, req.Size)) return Deny(m.Source);
        int r = ConfigWrite(f.Bdf, req.Offset, req.Size, req.Value);
        m = default;
        return r;
    }

    private int DoCheckOwner(ref Message m)
    {
        if (m.Source != Endpoint.Iommu) return Deny(m.Source);
        var req = m.As<PciRequest>();
        var f = Find(req.Bdf);
        m = default;
        return f is not null && f.Owner == req.Endpoint && req.Endpoint != Endpoint.None ? Err.Ok : Err.EPERM;
    }

    // ---- Held requests (from drivers whose ACL RS has not sent yet) ----

    /// <summary>True if the caller has an ACL; otherwise the request is held (the caller gets
    /// EDONTREPLY back) or, with the table full, refused.</summary>
    private bool HasAcl(ref Message m, out List<PciAclEntry> acl)
    {
        if (_acls.TryGetValue(m.Source, out acl!)) return true;
        int src = m.Source;
        if (_held.Count >= MaxHeld || _held.Exists(h => h.Source == src))
        {
            // Answer now: EPERM (a second request of the same endpoint cannot happen while the
            // first waits in SENDREC, so this is a full table).
            var reply = default(Message);
            _loop.Reply(src, Err.EPERM, ref reply);
            return false;
        }
        long now = Now();
        // RS sends a driver's ACL before it releases the driver (docs/rs.md), so this happens
        // only when RS released it without the answer (the bus driver was busy or restarting).
        SysCall.Diag($"holding a request of endpoint {src} until RS sends its ACL");
        _held.Add(new Held(src, m, now + HeldDeadlineNs));
        if (_held.Count == 1) SysCall.SetAlarm(HeldDeadlineNs + 1_000_000, absolute: false, out _);
        return false;
    }

    private void OnNotify(Message m)
    {
        if (m.Source == Endpoint.Clock) ServeHeld(Endpoint.None, deadlinePassed: true);
        else if (m.Source == Endpoint.Rs) SaveOwners(); // heartbeat: DS may have been restarted
    }

    // ---- Owners across a restart (DS backup) ----

    private void SaveOwners()
    {
        var text = new System.Text.StringBuilder();
        foreach (var f in _functions)
            if (f.Owner != Endpoint.None) text.Append(CultureInfo.InvariantCulture, $"{f.Bdf} {f.Owner}\n");
        _backup.Save(text.ToString());
    }

    /// <summary>Who held which device before this instance started: read from DS, kept only for
    /// owners still alive (the kernel's process table), and only for devices the scan found.</summary>
    private void RestoreOwners()
    {
        if (_backup.Load(out var records, out var alive) != Err.Ok) return;
        int restored = 0;
        foreach (var rec in records)
        {
            if (rec.Length != 2 || !int.TryParse(rec[0], CultureInfo.InvariantCulture, out int bdf) || !int.TryParse(rec[1], CultureInfo.InvariantCulture, out int owner)) continue;
            if (Find(bdf) is not { } f || !alive.Contains(owner)) continue;
            f.Owner = owner;
            restored++;
        }
        SysCall.Diag($"{restored} device owner(s) restored from DS");
        SaveOwners();
    }

    /// <summary>Answers the held requests of <paramref name="endpoint"/> (its ACL arrived), or
    /// with <paramref name="deadlinePassed"/> refuses the ones whose deadline passed.</summary>
    private void ServeHeld(int endpoint, bool deadlinePassed)
    {
        long now = Now();
        for (int i = 0; i < _held.Count;)
        {
            var h = _held[i];
            bool due = deadlinePassed ? h.Deadline <= now : h.Source == endpoint;
            if (!due)
            {
                i++;
                continue;
            }
            _held.RemoveAt(i);
            var msg = h.Request;
            int r;
            if (deadlinePassed)
            {
                r = Deny(h.Source);
                msg = default;
            }
            else
            {
                r = msg.Type switch
                {
                    PciCall.FirstDev => DoFirstDev(ref msg),
                    PciCall.NextDev => DoNextDev(ref msg),
                    PciCall.Reserve => DoReserve(ref msg),
                    _ => Dispatch(ref msg),
                };
            }
            if (r != Err.EDONTREPLY) _loop.Reply(h.Source, r, ref msg);
        }
        if (deadlinePassed && _held.Count > 0) SysCall.SetAlarm(HeldDeadlineNs / 4, absolute: false, out _);
    }

    private int Dispatch(ref Message m) => m.Type switch
    {
        PciCall.Release => DoRelease(ref m),
        PciCall.ReadConfig => DoReadConfig(ref m),
        PciCall.WriteConfig => DoWriteConfig(ref m),
        _ => Err.ENOSYS,
    };

    // ---- Helpers ----

    private Function? Find(int bdf) => _functions.Find(f => f.Bdf == bdf);

    private static bool Grants(List<PciAclEntry> acl, Function f) => acl.Exists(e => e.Matches(f.Vendor, f.Device, f.ClassCode));

    private static PciReply Describe(Function f)
    {
        var reply = new PciReply
        {
            Bdf = f.Bdf, Vendor = f.Vendor, Device = f.Device, ClassCode = f.ClassCode,
            IoBase = f.IoBase, IoSize = f.IoSize, Irq = f.Irq is > 0 and < 16 ? f.Irq : -1,
        };
        for (int i = 0; i < PciIoBars.Count; i++)
            reply.Bars[i] = new PciIoBar { Base = (ushort)f.BarBase[i], Size = (ushort)Math.Min(f.BarSize[i], 0xFFFF) };
        return reply;
    }

    private static bool ValidAccess(int offset, int size) =>
        size is 1 or 2 or 4 && offset >= 0 && offset + size <= 256 && offset % size == 0;

    /// <summary>Identity, BARs, CardBus CIS, subsystem ids, expansion ROM and the interrupt line.</summary>
    private static bool Protected(int offset, int size)
    {
        int end = offset + size;
        return offset < CommandOffset || (offset < 0x08 + 4 && end > 0x08) // ids; revision/class
            || (offset < RomOffset + 4 && end > Bar0Offset)                // BARs .. ROM
            || (offset <= InterruptLineOffset && end > InterruptLineOffset);
    }

    private static int Deny(int offender)
    {
        SysCall.ReportDenial(Denial.RequestRejected, offender);
        return Err.EPERM;
    }

    private static long Now() => SysCall.Times(Endpoint.Self, out var t) == Err.Ok ? t.UptimeNs : 0;
}
