// The trusted IOMMU driver (thesis §3.3.2, "Direct Memory Access"; MINIX's amddev): the only
// process with the IOMMU's register window (ports in its boot.conf entry), it programs a
// device's DMA protection domain — AMD DEV style, one permission bit per page frame — only
// under one rule: a device may reach memory of the driver that holds it, and only memory that
// driver pinned with MAPDMA. For a Map request it asks the PCI-bus driver whether the caller
// holds the device (CheckOwner) and the kernel whether the range is the caller's pinned
// memory (UMAP); then it allows those frames. When RS reports a driver gone (Reset), every
// domain it programmed is reset before the driver is restarted, so nothing its device still
// has in flight reaches memory; the kernel in addition never reuses a frame a domain still
// allows. Protocol: Lib/Iommu/IommuCall.cs. Tables are bounded (MaxDomains devices with
// MaxRanges ranges each). Refused maps are EPERM and counted as Fig. 5.5's "DMA not allowed".
// Replies go out with SENDNB: a trusted driver never blocks on a client.
// RS restarts the IOMMU driver like any boot process (docs/rs.md, "Boot processes"). The
// IOMMU keeps its permission bits through that (it is the hardware), so a running driver's DMA
// goes on; the driver's own table of domains is kept in DS (DsBackup "iommu.domains", after
// every change and at every heartbeat) and read back at start: domains of owners still alive
// are kept, those of owners that died meanwhile are reset.
using System.Globalization;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Iommu;

public sealed class IommuDriver
{
    public const int DefaultPorts = 0xDE00;
    public const int MaxDomains = 32, MaxRanges = 16, MaxFramesPerCommand = 4096;
    public const long MaxMapBytes = 1L << 20;
    private const int PageShift = 12;

    // The register window (docs/machine.md): DEVICE, FRAME, COUNT, COMMAND, STATUS, DENIED.
    private const int RegDevice = 0x00, RegFrame = 0x04, RegCount = 0x08, RegCommand = 0x0C, RegStatus = 0x10, RegDenied = 0x14;
    private const uint CmdAllow = 1, CmdRevoke = 2, CmdReset = 3;

    private sealed class Domain
    {
        public int Bdf;
        public int Owner;
        public readonly List<(ulong First, int Count)> Ranges = [];
    }

    private readonly int _ports;
    private readonly List<Domain> _domains = [];
    private readonly DsBackup _backup = new("iommu.domains");

    private IommuDriver(int ports) => _ports = ports;

    public static int Run(string[] args)
    {
        int ports = DefaultPorts;
        foreach (var a in args.Skip(1))
            if (a.StartsWith("io=", StringComparison.Ordinal)
                && !int.TryParse(a.AsSpan(3).TrimStart("0x"), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ports))
            {
                SysCall.Diag($"bad argument '{a}' (expected io=HEX)");
                return 2;
            }
        ServiceRuntime.Start();
        var d = new IommuDriver(ports);
        d.RestoreDomains();
        var loop = new ServerLoop { NonBlockingReplies = true, OnNotify = d.OnNotify };
        loop.On(IommuCall.Map, d.DoMap)
            .On(IommuCall.Unmap, d.DoUnmap)
            .On(IommuCall.Reset, d.DoReset)
            .On(IommuCall.Status, d.DoStatus);
        SysCall.Diag($"DEV register window at 0x{ports:x}");
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    private int DoMap(ref Message m)
    {
        int caller = m.Source;
        var req = m.As<IommuRequest>();
        m = default;
        if (!Frames(req, out ulong first, out int count)) return Err.EINVAL;
        if (PciClient.CheckOwner(req.Bdf, caller) != Err.Ok || SysCall.Umap(caller, req.BusAddress, req.Length, out _) != Err.Ok)
        {
            SysCall.ReportDenial(Denial.DeviceDmaNotAllowed, caller);
            return Err.EPERM;
        }
        var dom = _domains.Find(x => x.Bdf == req.Bdf);
        if (dom is not null && dom.Owner != caller)
        {
            // Held by the caller now (PCI said so), so the old owner is gone: its domain goes first.
            int r0 = Command(dom.Bdf, 0, 1, CmdReset);
            if (r0 != Err.Ok) return r0;
            _domains.Remove(dom);
            dom = null;
        }
        if (dom is null)
        {
            if (_domains.Count >= MaxDomains) return Err.ENOSPC;
            dom = new Domain { Bdf = req.Bdf, Owner = caller };
            _domains.Add(dom);
        }
        if (dom.Ranges.Contains((first, count))) return Err.Ok;
        if (dom.Ranges.Count >= MaxRanges) return Err.ENOSPC;
        int r = Command(req.Bdf, first, count, CmdAllow);
        if (r == Err.Ok)
        {
            dom.Ranges.Add((first, count));
            SaveDomains();
        }
        return r;
    }

    private int DoUnmap(ref Message m)
    {
        int caller = m.Source;
        var req = m.As<IommuRequest>();
        m = default;
        if (!Frames(req, out ulong first, out int count)) return Err.EINVAL;
        var dom = _domains.Find(x => x.Bdf == req.Bdf);
        if (dom is null || dom.Owner != caller || !dom.Ranges.Remove((first, count)))
        {
            SysCall.ReportDenial(Denial.DeviceDmaNotAllowed, caller);
            return Err.EPERM;
        }
        SaveDomains();
        return Command(req.Bdf, first, count, CmdRevoke);
    }

    private int DoReset(ref Message m)
    {
        if (m.Source != Endpoint.Rs)
        {
            SysCall.ReportDenial(Denial.RequestRejected, m.Source);
            return Err.EPERM;
        }
        int gone = m.As<IommuRequest>().Endpoint;
        m = default;
        int result = Err.Ok;
        foreach (var dom in _domains.Where(x => x.Owner == gone).ToList())
        {
            int r = Command(dom.Bdf, 0, 1, CmdReset);
            if (r != Err.Ok) result = r;
            else _domains.Remove(dom);
        }
        SaveDomains();
        return result;
    }

    private int DoStatus(ref Message m)
    {
        int bdf = m.As<IommuRequest>().Bdf;
        m = default;
        if (bdf is < 0 or > 0xFFFF) return Err.EINVAL;
        int r = SysCall.OutPort(_ports + RegDevice, 4, (uint)bdf);
        uint denied = 0;
        if (r == Err.Ok) r = SysCall.InPort(_ports + RegDenied, 4, out denied);
        if (r == Err.Ok) m = Message.Of(0, new IommuReply { Denied = denied, Domains = _domains.Count });
        return r;
    }

    private void OnNotify(Message m)
    {
        if (m.Source == Endpoint.Rs) SaveDomains(); // heartbeat: DS may have been restarted
    }

    // ---- Domains across a restart (DS backup) ----

    private void SaveDomains()
    {
        var text = new System.Text.StringBuilder();
        foreach (var dom in _domains)
        {
            text.Append(CultureInfo.InvariantCulture, $"{dom.Bdf} {dom.Owner}");
            foreach (var (first, count) in dom.Ranges) text.Append(CultureInfo.InvariantCulture, $" {first}:{count}");
            text.Append('\n');
        }
        _backup.Save(text.ToString());
    }

    /// <summary>The domains an earlier instance programmed: kept when their owner is alive (the
    /// kernel's process table), reset in the IOMMU when it died meanwhile. Records are checked
    /// like requests (bounded tables, valid ids and frames).</summary>
    private void RestoreDomains()
    {
        if (_backup.Load(out var records, out var alive) != Err.Ok) return;
        int kept = 0, reset = 0;
        foreach (var rec in records)
        {
            if (rec.Length < 2 || !int.TryParse(rec[0], CultureInfo.InvariantCulture, out int bdf) || bdf is < 0 or > 0xFFFF
                || !int.TryParse(rec[1], CultureInfo.InvariantCulture, out int owner) || _domains.Exists(x => x.Bdf == bdf))
                continue;
            if (!alive.Contains(owner) || _domains.Count >= MaxDomains)
            {
                if (Command(bdf, 0, 1, CmdReset) == Err.Ok) reset++;
                continue;
            }
            var dom = new Domain { Bdf = bdf, Owner = owner };
            foreach (var range in rec.Skip(2).Take(MaxRanges))
            {
                var parts = range.Split(':');
                if (parts.Length == 2 && ulong.TryParse(parts[0], CultureInfo.InvariantCulture, out ulong first) && first <= uint.MaxValue
                    && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int count) && count is > 0 and <= MaxFramesPerCommand)
                    dom.Ranges.Add((first, count));
            }
            _domains.Add(dom);
            kept++;
        }
        SysCall.Diag($"DMA domains from DS: {kept} kept, {reset} reset (owner gone)");
        SaveDomains();
    }

    /// <summary>The frames a request covers; false if the device id or the range is invalid.</summary>
    private static bool Frames(in IommuRequest req, out ulong first, out int count)
    {
        first = 0;
        count = 0;
        if (req.Bdf is < 0 or > 0xFFFF || req.Length <= 0 || req.Length > MaxMapBytes || req.BusAddress > ulong.MaxValue - (ulong)req.Length)
            return false;
        first = req.BusAddress >> PageShift;
        ulong last = (req.BusAddress + (ulong)req.Length - 1) >> PageShift;
        count = (int)(last - first + 1);
        return first <= uint.MaxValue && count <= MaxFramesPerCommand;
    }

    /// <summary>One command through the register window; EIO if the IOMMU refused it.</summary>
    private int Command(int bdf, ulong first, int count, uint command)
    {
        int r = SysCall.OutPort(_ports + RegDevice, 4, (uint)bdf);
        if (r == Err.Ok) r = SysCall.OutPort(_ports + RegFrame, 4, (uint)first);
        if (r == Err.Ok) r = SysCall.OutPort(_ports + RegCount, 4, (uint)count);
        if (r == Err.Ok) r = SysCall.OutPort(_ports + RegCommand, 4, command);
        if (r != Err.Ok) return r;
        r = SysCall.InPort(_ports + RegStatus, 4, out uint status);
        return r != Err.Ok ? r : status == 0 ? Err.Ok : Err.EIO;
    }
}
