// Tests of RS's isolation-policy reader (src/Servers/Rs/Policy): the thesis's Fig. 3.7 and
// the shipped etc/drivers.conf parse to the exact fields and privilege masks; every kind of
// mistake is reported as "<file>:<line>: <reason>" with the right line; device conflicts
// between policies are detected and name the running driver.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Rs.Policy;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class PolicyParserTests
{
    /// <summary>Fig. 3.7 as printed, line breaks included.</summary>
    private const string Fig37 = """
        driver rtl8139 # ISOLATION POLICY
        {
        pci device 10ec/8139
        ;
        ipc targets KERNEL PM DS RS PCI IOMMU INET
        ;
        ipc kernel VDEVIO IRQCTL MAPDMA SETGRANT SAFECOPY
        SYSCTL TIMES SETALARM GETINFO
        ;
        };
        """;

    private static string RepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    private static uint Traps(params int[] traps) => traps.Aggregate(0u, (m, t) => m | Trap.Bit(t));

    private static int[] Calls(in PrivilegeBlock p) => Enumerable.Range(0, KernelCall.Count).Where(p.CallAllowed).ToArray();

    private static int[] Targets(in PrivilegeBlock p)
    {
        var list = new int[p.TargetCount];
        for (int i = 0; i < list.Length; i++) list[i] = p.Targets[i];
        return list;
    }

    private static Policy One(string text) => Assert.Single(PolicySet.Parse(text, "t.conf").Policies);

    private static readonly int[] NetCalls =
    [
        KernelCall.IrqCtl, KernelCall.DevIo, KernelCall.VDevIo, KernelCall.SetAlarm, KernelCall.Times, KernelCall.GetInfo,
        KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy, KernelCall.SetGrant, KernelCall.SysCtl,
        KernelCall.MapDma,
    ];

    [Fact]
    public void Parse_Fig37_HasExactFields()
    {
        var set = PolicySet.Parse(Fig37, "drivers.conf");
        var p = set["rtl8139"];
        Assert.Equal("rtl8139", p.Label);
        Assert.Equal(1, p.Line);
        Assert.Equal("drivers.conf:1", p.Origin);
        Assert.Equal([new PciDevice(0x10ec, 0x8139)], p.PciDevices);
        Assert.Equal("10ec/8139", p.PciDevices[0].ToString());
        Assert.Equal(["KERNEL", "PM", "DS", "RS", "PCI", "IOMMU", "INET"], p.Targets);
        Assert.False(p.AllTargets);
        Assert.Equal(NetCalls.Order(), p.KernelCalls);
        Assert.Equal(0u, p.TrapMask); // Fig. 3.7 lists no 'ipc calls': none granted
        Assert.Empty(p.IsaIo);
        Assert.Empty(p.IsaIrqs);
        Assert.Empty(p.PciClasses);
        Assert.Empty(p.Drivers);
    }

    [Fact]
    public void ToPrivilegeBlock_Fig37_ResolvesTargetsAndSkipsKernelTasks()
    {
        var p = PolicySet.Parse(Fig37).Policies[0];
        // PCI and IOMMU are fixed (the trusted bus drivers); INET is a label, not running yet.
        var b = p.ToPrivilegeBlock(n => PolicyTargets.FixedEndpoint(n), PrivilegeBlock.SysProc, out var unresolved);
        Assert.Equal([Endpoint.Pm, Endpoint.Ds, Endpoint.Rs, Endpoint.Pci, Endpoint.Iommu], Targets(b));
        Assert.Equal(["INET"], unresolved);
        var labels = new Dictionary<string, int> { ["INET"] = 41 };
        b = p.ToPrivilegeBlock(n => PolicyTargets.FixedEndpoint(n) ?? (labels.TryGetValue(n, out int e) ? e : null), PrivilegeBlock.SysProc, out unresolved);
        Assert.Equal([Endpoint.Pm, Endpoint.Ds, Endpoint.Rs, Endpoint.Pci, Endpoint.Iommu, 41], Targets(b));
        Assert.Empty(unresolved);
        Assert.Equal(PrivilegeBlock.SysProc, b.Flags);
        Assert.Equal(0u, b.TrapMask);
        Assert.Equal(NetCalls.Order(), Calls(b));
    }

    [Fact]
    public void Load_DriversConf_HasExpectedPolicies()
    {
        var set = PolicySet.Load(RepoFile("etc/drivers.conf"));
        Assert.Equal(["testdrv", "rtl8139", "dp8390", "testdrv2", "inet", "daytimed", "at_wini", "at_wini1", "memory", "filter", "mfs", "vfs"], set.Labels);

        var t = set["testdrv"];
        Assert.Equal(Traps(Trap.Send, Trap.Receive, Trap.SendRec, Trap.Notify, Trap.SendNb), t.TrapMask);
        Assert.Equal(["RS", "DS"], t.Targets);
        Assert.Equal([KernelCall.SetAlarm, KernelCall.Times, KernelCall.GetInfo, KernelCall.SetGrant, KernelCall.SysCtl], t.KernelCalls.Order());
        Assert.True(t.MayControl("testdrv2"));
        Assert.False(set["testdrv2"].MayControl("testdrv"));
        Assert.False(t.HasDevices);
        var tb = t.ToPrivilegeBlock(PolicyTargets.FixedEndpoint);
        Assert.Equal(t.TrapMask, tb.TrapMask);
        Assert.Equal(0u, tb.Flags);
        Assert.Equal([Endpoint.Rs, Endpoint.Ds], Targets(tb));
        Assert.Equal(t.KernelCalls, Calls(tb));

        var r = set["rtl8139"];
        Assert.Equal([new PciDevice(0x10ec, 0x8139)], r.PciDevices);
        Assert.Equal(Traps(Trap.Send, Trap.Receive, Trap.SendRec, Trap.Notify, Trap.SendNb, Trap.SendA), r.TrapMask);
        Assert.Equal(["KERNEL", "PM", "DS", "RS", "PCI", "IOMMU", "inet"], r.Targets);
        Assert.Equal(NetCalls.Order(), r.KernelCalls);

        var d = set["dp8390"];
        Assert.Equal([new AddressRange(0x300, 0x20)], d.IsaIo);
        Assert.Equal([9], d.IsaIrqs);
        Assert.Equal(Trap.MaskAll, d.TrapMask);
        Assert.Equal(["KERNEL", "PM", "DS", "RS", "inet"], d.Targets);
        Assert.Contains(KernelCall.DevIo, d.KernelCalls);
        Assert.DoesNotContain(KernelCall.MapDma, d.KernelCalls);
        Assert.Empty(d.PciDevices);

        // INET: its drivers, DS and RS; no device, no process management (docs/inet.md).
        var inet = set["inet"];
        Assert.Equal(["DS", "RS", "eth0", "eth1"], inet.Targets);
        Assert.Equal(new[] { KernelCall.SetAlarm, KernelCall.Times, KernelCall.GetInfo, KernelCall.SetGrant, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy, KernelCall.SysCtl }.Order(), inet.KernelCalls.Order());
        Assert.Empty(inet.IsaIo);
        Assert.Empty(inet.PciDevices);
    }

    [Fact]
    public void Parse_AllKeys_ParseToFields()
    {
        var p = One("""
            driver filter {
                driver at_wini at_wini2 at_wini;
                ipc calls SENDREC NBSEND ASEND;
                ipc targets ALL;
                ipc kernel SAFECOPY;
                isa io 1f0:8 3f6:1;
                isa io 170:8;
                isa irq 14 15;
                pci class 01/01 02/00/00;
            };
            """);
        Assert.Equal(["at_wini", "at_wini2"], p.Drivers);
        Assert.True(p.MayControl("at_wini"));
        Assert.False(p.MayControl("rtl8139"));
        Assert.Equal(Traps(Trap.SendRec, Trap.SendNb, Trap.SendA), p.TrapMask);
        Assert.True(p.AllTargets);
        Assert.Empty(p.Targets);
        Assert.Equal([KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy], p.KernelCalls);
        Assert.Equal([new AddressRange(0x1f0, 8), new AddressRange(0x3f6, 1), new AddressRange(0x170, 8)], p.IsaIo);
        Assert.Equal([14, 15], p.IsaIrqs);
        Assert.Equal([new PciClass(1, 1, null), new PciClass(2, 0, 0)], p.PciClasses);
        Assert.True(p.PciClasses[1].Matches(2, 0, 0));
        Assert.False(p.PciClasses[1].Matches(2, 0, 1));
        Assert.True(p.PciClasses[0].Matches(1, 1, 0x8a));
        Assert.Equal(PrivilegeBlock.AllTargets, p.ToPrivilegeBlock(_ => null).Flags);
    }

    [Fact]
    public void Parse_EmptyDriver_GrantsNothing()
    {
        var p = One("driver nothing { };");
        var b = p.ToPrivilegeBlock(_ => 1);
        Assert.Equal(0u, b.TrapMask);
        Assert.Equal(0u, b.Flags);
        Assert.Equal(0, b.TargetCount);
        Assert.Empty(Calls(b));
        Assert.False(p.HasDevices);
        Assert.Empty(PolicySet.Parse("# only a comment\n").Policies);
    }

    [Fact]
    public void Parse_RangeLimits_Edges()
    {
        var p = One("driver x { isa io 0:10000; isa irq 0; };");
        Assert.Equal(0x10000ul, p.IsaIo[0].End);
        var many = One("driver x { isa io " + string.Join(' ', Enumerable.Range(0, Policy.MaxIsaIo).Select(i => $"{i * 16:x}:10")) + "; };");
        Assert.Equal(Policy.MaxIsaIo, many.IsaIo.Count);
    }

    [Theory]
    [InlineData("driver x {\n  ipc foo BAR;\n};", 2, "unknown key 'ipc foo' in driver 'x' (expected 'ipc calls', 'ipc targets', 'ipc kernel')")]
    [InlineData("driver x {\n  system;\n};", 2, "unknown key 'system' in driver 'x'")]
    [InlineData("driver x {\n  isa;\n};", 2, "unknown key 'isa' in driver 'x' (expected 'isa io', 'isa irq')")]
    [InlineData("driver x {\n  ipc calls SEND SNED;\n};", 2, "unknown trap 'SNED'")]
    [InlineData("driver x {\n  ipc kernel\n    SYSCTL FROB;\n};", 3, "unknown kernel call 'FROB'")]
    [InlineData("driver x {\n  isa io 300;\n};", 2, "bad 'isa io' range '300' (expected BASE:LEN in hex, e.g. 300:20)")]
    [InlineData("driver x {\n  isa io 0x300:20;\n};", 2, "bad 'isa io' range '0x300:20' (expected BASE:LEN in hex, e.g. 300:20)")]
    [InlineData("driver x {\n  isa io 300:0;\n};", 2, "bad 'isa io' range '300:0': length is 0")]
    [InlineData("driver x {\n  isa io fff0:20;\n};", 2, "bad 'isa io' range 'fff0:20': it ends past ffff")]
    [InlineData("driver x {\n  isa io 300:20;\n  isa io 310:4;\n};", 3, "'isa io' range 310:4 overlaps 300:20")]
    [InlineData("driver x {\n  isa irq 16;\n};", 2, "bad 'isa irq' '16' (expected 0..15)")]
    [InlineData("driver x {\n  isa irq nine;\n};", 2, "bad 'isa irq' 'nine' (expected 0..15)")]
    [InlineData("driver x {\n  isa irq 9;\n  isa irq 9;\n};", 3, "duplicate 'isa irq' 9")]
    [InlineData("driver x {\n  pci device 10ec:8139;\n};", 2, "bad 'pci device' '10ec:8139' (expected VVVV/DDDD in hex, e.g. 10ec/8139)")]
    [InlineData("driver x {\n  pci device 10ec/18139;\n};", 2, "bad 'pci device' '10ec/18139' (expected VVVV/DDDD in hex, e.g. 10ec/8139)")]
    [InlineData("driver x {\n  pci device 10ec/8139 10EC/8139;\n};", 2, "duplicate 'pci device' 10ec/8139")]
    [InlineData("driver x {\n  pci class 2/0/0/0;\n};", 2, "bad 'pci class' '2/0/0/0' (expected CC/SS or CC/SS/PP in hex, e.g. 02/00)")]
    [InlineData("driver x {\n  ipc targets DS bad/label;\n};", 2, "bad ipc target 'bad/label' (1..15 letters, digits, '_', '-', '.')")]
    [InlineData("driver x { };\n\ndriver x { };", 3, "duplicate driver 'x' (first at line 1)")]
    [InlineData("driver x {\n  ipc calls SEND;\n  ipc calls RECEIVE;\n};", 3, "duplicate 'ipc calls' in driver 'x' (first at line 2)")]
    [InlineData("driver x {\n  driver a;\n  driver b;\n};", 3, "duplicate 'driver' in driver 'x' (first at line 2)")]
    [InlineData("driver x {\n  ipc calls;\n};", 2, "'ipc calls' takes one or more values")]
    [InlineData("driver x {\n  ipc calls SEND\n  ipc targets DS;\n};", 2, "missing ';' after 'ipc calls SEND'")]
    [InlineData("driver x {\n  ipc calls SEND\n};", 2, "missing ';' after 'ipc calls SEND'")]
    [InlineData("driver x {\n  ipc calls SEND;\n}\ndriver y { };", 3, "missing ';' after '}' of driver 'x'")]
    [InlineData("driver x {\n  ipc calls SEND;\n}", 3, "missing ';' after '}' of driver 'x'")]
    [InlineData("driver x {\n  ipc calls SEND;\n\ndriver y {\n};", 4, "missing '}' to close driver 'x' before this '{'")]
    [InlineData("# policies\ndriver x {\n  ipc calls SEND;\n", 2, "unexpected end of file: driver 'x' is not closed (missing '}')")]
    [InlineData("driver x {\n  ipc calls SEND", 2, "unexpected end of file after 'ipc calls SEND' (driver 'x' is not closed)")]
    [InlineData("driver x", 1, "unexpected end of file after 'driver x' (expected '{')")]
    [InlineData("\ndriver", 2, "unexpected end of file after 'driver' (expected a label)")]
    [InlineData("driver x ipc calls SEND;", 1, "expected '{' after 'driver x', found 'ipc'")]
    [InlineData("service x { };", 1, "expected 'driver', found 'service'")]
    [InlineData("driver x { };\n;", 2, "expected 'driver', found ';'")]
    [InlineData("driver PM { };", 1, "driver label 'PM' is reserved")]
    [InlineData("driver a_very_long_label_x { };", 1, "bad driver label 'a_very_long_label_x' (1..15 letters, digits, '_', '-', '.')")]
    public void Parse_Mistake_ReportsFileLineAndReason(string text, int line, string reason)
    {
        var e = Assert.Throws<PolicyException>(() => PolicySet.Parse(text, "t.conf"));
        Assert.Equal($"t.conf:{line}: {reason}", e.Message);
        Assert.Equal("t.conf", e.File);
        Assert.Equal(line, e.Line);
        Assert.Equal(reason, e.Reason);
    }

    /// <summary>`isa mem` (Fig. 2.6) would grant device memory that no kernel call can map: it is
    /// refused at its own line, with the reason, wherever it stands and whatever its values.</summary>
    [Theory]
    [InlineData("driver x {\n  isa mem d0000:4000;\n};", 2)]
    [InlineData("driver x {\n  ipc calls SEND;\n  isa io 300:20;\n  isa mem\n    d0000:4000 e0000:1000;\n};", 4)]
    [InlineData("driver x {\n  isa mem nonsense;\n};", 2)]
    public void Parse_IsaMem_IsRefusedAsUnenforceable(string text, int line)
    {
        var e = Assert.Throws<PolicyException>(() => PolicySet.Parse(text, "t.conf"));
        Assert.Equal($"t.conf:{line}: 'isa mem' is not supported: Bulkhead has no memory-mapped device I/O; no kernel call " +
                     "maps device memory into a driver, so the grant could not be enforced (devices are reached through " +
                     "'isa io' ports or a 'pci device'); remove the line", e.Message);
        Assert.Equal(line, e.Line);
    }

    [Theory]
    [InlineData("isa io", 65, "too many 'isa io' ranges (at most 64)")]
    [InlineData("isa irq", 17, "too many 'isa irq' lines (at most 16)")]
    [InlineData("ipc targets", 65, "too many ipc targets (at most 64)")]
    public void Parse_TooMany_Reports(string key, int count, string reason)
    {
        string Value(int i) => key switch
        {
            "isa irq" => (i % 16).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "ipc targets" => $"svc{i}",
            _ => $"{i * 16:x}:10",
        };
        string text = $"driver x {{\n  {key}\n    " + string.Join(' ', Enumerable.Range(0, count).Select(Value)) + ";\n};";
        var e = Assert.Throws<PolicyException>(() => PolicySet.Parse(text, "t.conf"));
        Assert.Equal($"t.conf:3: {reason}", e.Message);
    }

    [Fact]
    public void Parse_KernelTasksDoNotCountAsTargets()
    {
        string names = string.Join(' ', Enumerable.Range(0, PrivilegeBlock.MaxTargets).Select(i => $"s{i}"));
        var p = One($"driver x {{ ipc targets KERNEL SYSTEM CLOCK {names}; }};");
        Assert.Equal(PrivilegeBlock.MaxTargets + 3, p.Targets.Count);
        Assert.Equal(PrivilegeBlock.MaxTargets, p.ToPrivilegeBlock(_ => 100).TargetCount);
    }

    [Fact]
    public void Load_MissingFile_ReportsLineZero()
    {
        var e = Assert.Throws<PolicyException>(() => PolicySet.Load("/nonexistent/drivers.conf"));
        Assert.StartsWith("/nonexistent/drivers.conf:0: cannot read:", e.Message);
    }

    [Fact]
    public void Conflicts_OverlappingIo_SamePci_AreNamed()
    {
        var set = PolicySet.Parse("""
            driver ne0 { isa io 300:20; isa irq 9; };
            driver ne1 { isa io 310:8; isa irq 10; };
            driver ne2 { isa io 320:20; isa irq 9; };
            driver rtl0 { pci device 10ec/8139; pci class 02/00; };
            driver rtl1 { pci device 10ec/8129 10ec/8139; };
            driver net { pci class 02/00; };
            """);
        Assert.True(PolicySet.Conflicts(set["ne1"], set["ne0"], out string why));
        Assert.Equal("policy 'ne1': isa io 310:8 overlaps isa io 300:20 of policy 'ne0'", why);
        Assert.True(PolicySet.Conflicts(set["rtl1"], set["rtl0"], out why));
        Assert.Equal("policy 'rtl1': pci device 10ec/8139 is also in policy 'rtl0'", why);
        Assert.False(PolicySet.Conflicts(set["ne2"], set["ne0"], out why)); // adjacent ports, shared IRQ 9
        Assert.Equal("", why);
        Assert.False(PolicySet.Conflicts(set["net"], set["rtl0"], out _)); // a class is no single device
        Assert.False(PolicySet.Conflicts(set["rtl0"], set["net"], out _));
    }

    [Fact]
    public void Conflicts_SamePciIdWithDisjointLegacyPorts_AreDifferentDevices()
    {
        // The two IDE channels' drivers: one 8086/7010 function each, told apart by their ports.
        var set = PolicySet.Load(RepoFile("etc/drivers.conf"));
        var (primary, secondary) = (set["at_wini"], set["at_wini1"]);
        Assert.Equal([new AddressRange(0x170, 8), new AddressRange(0x376, 1)], secondary.IsaIo);
        Assert.Equal([15], secondary.IsaIrqs);
        Assert.Equal(primary.PciDevices, secondary.PciDevices);
        Assert.Equal(primary.KernelCalls, secondary.KernelCalls);
        Assert.Equal(primary.Targets, secondary.Targets);
        Assert.False(PolicySet.Conflicts(secondary, primary, out string why), why);
        Assert.False(PolicySet.Conflicts(primary, secondary, out _));
        Assert.True(PolicySet.Conflicts(primary, primary, out why)); // a second c0d0-like service
        Assert.Equal("policy 'at_wini': isa io 1f0:8 overlaps isa io 1f0:8 of policy 'at_wini'", why);
        var claims = new DeviceClaims();
        Assert.True(claims.TryClaim("c0d0", primary, out _));
        Assert.True(claims.TryClaim("c1d0", secondary, out why), why);
        // Only one of the policies with legacy ports: the shared id still conflicts.
        var noPorts = PolicySet.Parse("driver ide { pci device 8086/7010; };")["ide"];
        Assert.True(PolicySet.Conflicts(noPorts, primary, out why));
        Assert.Equal("policy 'ide': pci device 8086/7010 is also in policy 'at_wini'", why);
    }

    [Fact]
    public void DeviceClaims_RefusesClaimedDevice_UntilReleased_NamingTheRunningService()
    {
        var set = PolicySet.Load(RepoFile("etc/drivers.conf"));
        var second = PolicySet.Parse("driver ne2k { isa io 318:8; isa irq 9; };")["ne2k"];
        var claims = new DeviceClaims();
        Assert.True(claims.TryClaim("eth0", set["dp8390"], out _));
        Assert.True(claims.TryClaim("eth1", set["rtl8139"], out _));
        Assert.True(claims.TryClaim("testdrv", set["testdrv"], out _));
        Assert.Null(claims.FindConflict("eth0", set["dp8390"])); // a restart of the same service
        Assert.True(claims.TryClaim("eth0", set["dp8390"], out _));
        Assert.Equal(3, claims.Running.Count);

        Assert.False(claims.TryClaim("eth2", second, out string why));
        Assert.Equal("policy 'ne2k': isa io 318:8 overlaps isa io 300:20 of policy 'dp8390' (running service 'eth0')", why);
        // A second service under the same policy wants the same device.
        Assert.Equal("policy 'rtl8139': pci device 10ec/8139 is also in policy 'rtl8139' (running service 'eth1')",
                     claims.FindConflict("eth3", set["rtl8139"]));

        Assert.True(claims.Release("eth0"));
        Assert.False(claims.Release("eth0"));
        Assert.True(claims.TryClaim("eth2", second, out _));
    }
}
