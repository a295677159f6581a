// Tests of the boot configuration reader (src/Kernel/Boot): the shipped etc/boot.conf parses
// to the expected slots, masks and targets, and every kind of mistake is reported as
// "<file>:<line>: <reason>" with the right line.
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Boot;

public sealed class BootConfigTests
{
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

    [Fact]
    public void Load_DefaultConfig_HasExpectedSystemAndOrder()
    {
        var c = BootConfig.Load(RepoFile("etc/boot.conf"));
        Assert.Equal(256, c.System.ProcSlots);
        Assert.Equal(16384, c.System.ArenaKiB);
        Assert.Equal(1UL, c.System.CpuMask); // cpus 0: everything on CPU 0
        Assert.Equal(100, c.System.QuantumMs);
        Assert.Equal(["pm", "ds", "pci", "iommu", "rs", "init", "echo", "ipcping"], c.Processes.Select(p => p.Name));
    }

    [Fact]
    public void Load_DefaultConfig_BusDriversAreTrusted_WithOnlyTheirOwnPorts()
    {
        var c = BootConfig.Load(RepoFile("etc/boot.conf"));
        var pci = c.Find("pci")!;
        var iommu = c.Find("iommu")!;
        Assert.Equal((Endpoint.Pci, Endpoint.Iommu), (pci.Slot, iommu.Slot));
        Assert.Equal(PrivilegeBlock.DeviceAuthority | PrivilegeBlock.SysProc, pci.Privileges.Flags);
        Assert.Equal(PrivilegeBlock.DeviceAuthority | PrivilegeBlock.SysProc, iommu.Privileges.Flags);
        Assert.Equal((1, 0xCF8 << 16 | 8), (pci.Privileges.IoRangeCount, pci.Privileges.IoRanges[0]));
        Assert.Equal((1, 0xDE00 << 16 | 0x20), (iommu.Privileges.IoRangeCount, iommu.Privileges.IoRanges[0]));
        Assert.True(pci.Privileges.CallAllowed(KernelCall.PrivCtl));
        Assert.False(pci.Privileges.CallAllowed(KernelCall.Umap));
        Assert.True(iommu.Privileges.CallAllowed(KernelCall.Umap));
        Assert.False(iommu.Privileges.CallAllowed(KernelCall.PrivCtl));
        // No one else is trusted or has ports.
        Assert.All(c.Processes.Where(p => p.Name is not ("pci" or "iommu")), p =>
        {
            Assert.Equal(0u, p.Privileges.Flags & PrivilegeBlock.DeviceAuthority);
            Assert.Equal(0, p.Privileges.IoRangeCount);
        });
    }

    [Fact]
    public void Load_DefaultConfig_SystemServersAtMinixSlotsWithTheirPrivileges()
    {
        var c = BootConfig.Load(RepoFile("etc/boot.conf"));
        var pm = c.Find("pm")!;
        var ds = c.Find("ds")!;
        var rs = c.Find("rs")!;
        Assert.Equal((Endpoint.Pm, Endpoint.Ds, Endpoint.Rs), (pm.Slot, ds.Slot, rs.Slot));
        Assert.All([pm, ds, rs], p =>
        {
            Assert.True(p.FixedSlot);
            Assert.Equal(ProgramKind.Image, p.Kind);
            Assert.Equal(p.Name, p.Program);
            Assert.Equal(PrivilegeBlock.AllTargets | PrivilegeBlock.SysProc, p.Privileges.Flags);
        });
        uint basic = Traps(Trap.Send, Trap.Receive, Trap.SendRec, Trap.Notify, Trap.SendNb);
        Assert.Equal(basic, pm.Privileges.TrapMask);
        Assert.Equal(basic | Trap.Bit(Trap.SendA), ds.Privileges.TrapMask);
        Assert.Equal(basic | Trap.Bit(Trap.SendA), rs.Privileges.TrapMask);
        Assert.Contains(KernelCall.Spawn, Calls(pm.Privileges));
        Assert.Contains(KernelCall.PrivCtl, Calls(pm.Privileges));
        Assert.DoesNotContain(KernelCall.Spawn, Calls(rs.Privileges));
        Assert.Contains(KernelCall.SetAlarm, Calls(rs.Privileges));
        Assert.Contains(KernelCall.PrivCtl, Calls(rs.Privileges)); // releases the services it starts held (docs/rs.md)
        Assert.Contains(KernelCall.SetGrant, Calls(ds.Privileges));
        Assert.Equal(["$ROOT/etc/drivers.conf"], rs.Args);
        Assert.Empty(rs.References);
        var spec = rs.ToSpec("/opt/b", "/repo", _ => throw new KeyNotFoundException());
        Assert.Equal(["rs", "/repo/etc/drivers.conf"], spec.Args);
    }

    [Fact]
    public void Load_DefaultConfig_InitIsLeastAuthority()
    {
        var init = BootConfig.Load(RepoFile("etc/boot.conf")).Find("init")!;
        Assert.Equal(Endpoint.Init, init.Slot);
        Assert.True(init.FixedSlot);
        Assert.Equal(ProgramKind.Image, init.Kind);
        Assert.Equal(Traps(Trap.SendRec, Trap.Receive, Trap.SendNb, Trap.Send), init.Privileges.TrapMask); // SENDNB, SEND: RS's heartbeats
        Assert.True(init.Restart);
        Assert.Equal(new[] { KernelCall.SetAlarm, KernelCall.Times, KernelCall.GetInfo, KernelCall.SysCtl, KernelCall.SetGrant }.Order(), Calls(init.Privileges));
        Assert.Equal(0u, init.Privileges.Flags);
        Assert.Equal([Endpoint.Rs], Targets(init.Privileges)); // `service up` of etc/rc
        Assert.Equal(["$ROOT/etc/rc"], init.Args);
    }

    [Fact]
    public void Load_DefaultConfig_EchoAndIpcPingListEachOther()
    {
        var c = BootConfig.Load(RepoFile("etc/boot.conf"));
        var echo = c.Find("echo")!;
        var ping = c.Find("ipcping")!;
        Assert.Equal(BootConfig.FirstDynamicSlot, echo.Slot);
        Assert.Equal(BootConfig.FirstDynamicSlot + 1, ping.Slot);
        Assert.Equal(Traps(Trap.Receive, Trap.Send, Trap.SendNb), echo.Privileges.TrapMask); // SENDNB: RS's heartbeats
        Assert.True(echo.Restart);
        Assert.False(ping.Restart);
        Assert.Empty(Calls(echo.Privileges));
        Assert.Equal([ping.Slot], Targets(echo.Privileges));
        Assert.Equal(Traps(Trap.SendRec), ping.Privileges.TrapMask);
        Assert.Equal([KernelCall.SysCtl], Calls(ping.Privileges));
        Assert.Equal([echo.Slot], Targets(ping.Privileges));
        Assert.Equal(["$echo"], ping.Args);
    }

    [Fact]
    public void ToSpec_ImageProgram_PassesComponentNameAndResolvedEndpoint()
    {
        var ping = BootConfig.Load(RepoFile("etc/boot.conf")).Find("ipcping")!;
        var spec = ping.ToSpec("/opt/b", "/root", name => name == "echo" ? 16 : throw new KeyNotFoundException(name));
        Assert.Equal("/opt/b/bulkhead-image", spec.Path);
        Assert.Equal(["ipcping", "16"], spec.Args);
        Assert.Equal(ping.Slot, spec.Slot);
        Assert.Equal(0, spec.ArenaBytes);
    }

    [Theory]
    [InlineData("$ROOT", "/repo")]
    [InlineData("$ROOT/", "/repo")]
    [InlineData("$ROOT/etc/x.conf", "/repo/etc/x.conf")]
    [InlineData("$ROOTS", "17")]          // not the root: a reference to process ROOTS
    public void ToSpec_RootArgument_IsTheBaseDirectory(string arg, string expected)
    {
        var c = BootConfig.Parse($"process ROOTS {{ program image x; }}; process y {{ program image y; args \"{arg}\"; }};");
        var spec = c.Find("y")!.ToSpec("/img", "/repo", name => name == "ROOTS" ? 17 : throw new KeyNotFoundException(name));
        Assert.Equal(["y", expected], spec.Args);
    }

    [Fact]
    public void Parse_RootArgument_IsNoProcessReference()
    {
        var c = BootConfig.Parse("process y { program image y; args $ROOT/a $ROOT; };");
        Assert.Empty(c.Processes[0].References);
    }

    [Fact]
    public void ToSpec_PathProgram_IsRelativeToBase()
    {
        var c = BootConfig.Parse("process x { program path bin/x; args \"a  b\" c; arena 512; };");
        var spec = c.Processes[0].ToSpec("/img", "/root", _ => 0);
        Assert.Equal("/root/bin/x", spec.Path);
        Assert.Equal(["a", "b", "c"], spec.Args);
        Assert.Equal(512 * 1024, spec.ArenaBytes);
    }

    [Fact]
    public void Parse_AllTargetsSystemFlagAndKernelTasks_SetFlagsOnly()
    {
        var c = BootConfig.Parse("""
            system { procs 64; cpus 0,2-3; quantum 10; };
            process rs { program image rs; slot 2; system; ipc targets ALL KERNEL SYSTEM CLOCK; ipc kernel SAFECOPY; };
            """);
        var rs = c.Processes[0];
        Assert.Equal(0b1101UL, c.System.CpuMask);
        Assert.Equal(64, c.System.ProcSlots);
        Assert.Equal(PrivilegeBlock.AllTargets | PrivilegeBlock.SysProc, rs.Privileges.Flags);
        Assert.Empty(Targets(rs.Privileges));
        Assert.Equal([KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy], Calls(rs.Privileges));
        var opt = c.ToKernelOptions("/tmp/log", new Dictionary<string, string>());
        Assert.Equal(64, opt.ProcSlots);
        Assert.Equal(10_000_000, opt.QuantumNs);
        Assert.Equal(0b1101UL, opt.CpuMask);
    }

    [Fact]
    public void Parse_TargetDefinedLater_ResolvesToItsSlot()
    {
        var c = BootConfig.Parse("process a { program image a; ipc targets b; }; process b { program image b; slot 5; };");
        Assert.Equal([5], Targets(c.Processes[0].Privileges));
        Assert.Equal(16, c.Processes[0].Slot);
    }

    [Fact]
    public void Parse_DynamicSlots_SkipFixedOnes()
    {
        var c = BootConfig.Parse("process a { program image a; }; process b { program image b; slot 16; };");
        Assert.Equal(17, c.Processes[0].Slot);
        Assert.Equal(16, c.Processes[1].Slot);
    }

    public static TheoryData<string, int, string> Errors => new()
    {
        { "system {\n  procs 256;\n  colour blue;\n};", 3, "unknown key 'colour' in system" },
        { "process a {\n  program image a;\n  flavour x;\n};", 3, "unknown key 'flavour' in process 'a'" },
        { "process a {\n  program image a;\n  ipc calls SEND FLY;\n};", 3, "unknown trap 'FLY'" },
        { "process a {\n  program image a;\n  ipc kernel SYSCTL\n    TELEPORT;\n};", 4, "unknown kernel call 'TELEPORT'" },
        { "process a {\n  program image a;\n  ipc targets nobody;\n};", 3, "unknown target 'nobody'" },
        { "process a { program image a; };\n\nprocess a { program image a; };", 3, "duplicate process 'a' (first at line 1)" },
        { "system {\n  procs lots;\n};", 2, "bad number 'lots' for procs" },
        { "system {\n  procs 4;\n};", 2, "procs must be 8..4096, not 4" },
        { "system {\n  procs 256\n  arena 4096;\n};", 2, "missing ';' after 'procs 256'" },
        { "process a {\n  program image a\n};", 2, "missing ';' after 'program image a'" },
        { "process a {\n  program image a;\n}\nprocess b { program image b; };", 3, "missing ';' after '}' of process 'a'" },
        { "process a {\n  program image a;\n", 1, "missing '}' to close process 'a'" },
        { "process a {\n  program image a;\n  args \"x y;\n};", 3, "unterminated string" },
        { "process a { program image a; slot 3; };\nprocess b {\n  program image b;\n  slot 3;\n};", 4, "duplicate slot 3 (already taken by process 'a')" },
        { "system { procs 8; };\nprocess a {\n  program image a;\n  slot 9;\n};", 4, "slot 9 out of range (procs 8)" },
        { "process a {\n  ipc calls SEND;\n};", 1, "process 'a' has no program" },
        { "process a {\n  program image a;\n  args $b;\n};\nprocess b { program image b; };", 3, "'$b' does not name an earlier process" },
        { "process a {\n  program image a;\n  program image b;\n};", 3, "duplicate 'program' in process 'a'" },
        { "process a {\n  program disk a;\n};", 2, "unknown program kind 'disk' (expected 'image' or 'path')" },
        { "process a {\n  program image a;\n  ipc sends X;\n};", 3, "unknown ipc key 'sends' (expected 'calls', 'targets' or 'kernel')" },
        { "kernel {\n};", 1, "unknown section 'kernel' (expected 'system', 'process' or 'device')" },
        { "process SYSTEM { program image a; };", 1, "process name 'SYSTEM' is reserved" },
        { "system {\n  cpus 0,99;\n};", 2, "a CPU must be 0..63, not 99" },
        { "system { };\nsystem { };", 2, "duplicate system section (first at line 1)" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_Mistake_NamesFileLineAndReason(string text, int line, string reason)
    {
        var e = Assert.Throws<BootConfigException>(() => BootConfig.Parse(text, "etc/test.conf"));
        Assert.Equal($"etc/test.conf:{line}: {reason}", e.Message);
        Assert.Equal(line, e.Line);
        Assert.Equal(reason, e.Reason);
        Assert.Equal("etc/test.conf", e.File);
    }

    [Fact]
    public void Load_MissingFile_NamesFile()
    {
        var e = Assert.Throws<BootConfigException>(() => BootConfig.Load("/nonexistent/boot.conf"));
        Assert.StartsWith("/nonexistent/boot.conf:0: cannot read", e.Message);
    }
}
