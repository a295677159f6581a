// The boot.conf process keys for trusted bus drivers (src/Kernel/Boot/BootParser.Process.cs):
// `io BASE:LEN ...` (hex, with or without 0x, repeatable, at most PrivilegeBlock.MaxIoRanges
// ranges in all) fills the privilege block's port ranges, and `trusted;` sets
// PrivilegeBlock.DeviceAuthority. Valid forms are checked field by field; every mistake must be
// reported as "<file>:<line>: <reason>" at the line of the token at fault.
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Boot;

public sealed class BootProcessKeysTests
{
    private static BootProcess Only(string body) => BootConfig.Parse($"process p {{\n  program image p;\n{body}\n}};").Find("p")!;

    private static (int Base, int Length)[] Ranges(BootProcess p)
    {
        var b = p.Privileges;
        var list = new (int, int)[b.IoRangeCount];
        for (int i = 0; i < list.Length; i++) list[i] = ((b.IoRanges[i] >> 16) & 0xFFFF, b.IoRanges[i] & 0xFFFF);
        return list;
    }

    [Fact]
    public void Parse_IoAndTrusted_GiveRangesInOrderAndDeviceAuthority()
    {
        var c = BootConfig.Parse("""
            process pci {
                program image pci;
                io cf8:8 0x300:0x20;
                io C000:100 0XDE00:20;
                trusted;
            };
            process drv { program image drv; };
            """);
        var pci = c.Find("pci")!;
        Assert.Equal([(0xCF8, 8), (0x300, 0x20), (0xC000, 0x100), (0xDE00, 0x20)], Ranges(pci));
        Assert.Equal(PrivilegeBlock.DeviceAuthority, pci.Privileges.Flags);
        var drv = c.Find("drv")!;
        Assert.Empty(Ranges(drv));
        Assert.Equal(0u, drv.Privileges.Flags);
    }

    [Fact]
    public void Parse_TrustedWithOtherFlags_KeepsThemAll()
    {
        var p = Only("  system;\n  trusted;\n  ipc targets ALL;");
        Assert.Equal(PrivilegeBlock.SysProc | PrivilegeBlock.DeviceAuthority | PrivilegeBlock.AllTargets, p.Privileges.Flags);
        Assert.Empty(Ranges(p));
    }

    [Fact]
    public void Parse_IoLimits_AreAccepted()
    {
        var p = Only("  io 0:1 ffff:1 0:ffff 1:ffff;");
        Assert.Equal([(0, 1), (0xFFFF, 1), (0, 0xFFFF), (1, 0xFFFF)], Ranges(p));
        Assert.Equal(0u, p.Privileges.Flags); // io alone does not make a process trusted
    }

    [Fact]
    public void Parse_SixteenRangesOverSeveralStatements_AreAccepted()
    {
        string first = string.Join(' ', Enumerable.Range(0, 10).Select(i => $"{0x100 + 16 * i:x}:10"));
        string second = string.Join(' ', Enumerable.Range(10, 6).Select(i => $"{0x100 + 16 * i:x}:10"));
        var p = Only($"  io {first};\n  io {second};");
        Assert.Equal(Enumerable.Range(0, PrivilegeBlock.MaxIoRanges).Select(i => (0x100 + 16 * i, 16)), Ranges(p));
    }

    private const string Head = "process p {\n  program image p;\n"; // the key under test is on line 3

    private static readonly string Sixteen = string.Join(' ', Enumerable.Range(0, 16).Select(i => $"{0x1000 + 16 * i:x}:4"));

    public static TheoryData<string, int, string> Errors => new()
    {
        { Head + "  io;\n};", 3, "'io' takes one or more port ranges BASE:LEN (hex)" },
        { Head + "  io 300;\n};", 3, "bad port range '300' (expected BASE:LEN in hex)" },
        { Head + "  io 300:8:1;\n};", 3, "bad port range '300:8:1' (expected BASE:LEN in hex)" },
        { Head + "  io 300-307;\n};", 3, "bad port range '300-307' (expected BASE:LEN in hex)" },
        { Head + "  io :8;\n};", 3, "bad hex number '' for io base" },
        { Head + "  io 300:;\n};", 3, "bad hex number '' for io length" },
        { Head + "  io zz:8;\n};", 3, "bad hex number 'zz' for io base" },
        { Head + "  io 0x:8;\n};", 3, "bad hex number '0x' for io base" },
        { Head + "  io 300:-8;\n};", 3, "bad hex number '-8' for io length" },
        { Head + "  io 123456789:1;\n};", 3, "bad hex number '123456789' for io base" },
        { Head + "  io \"300:8\";\n};", 3, "bad hex number \"300\" for io base" },
        { Head + "  io 10000:1;\n};", 3, "io base must be 0x0..0xffff, not 0x10000" },
        { Head + "  io 300:0;\n};", 3, "io length must be 0x1..0xfd00, not 0x0" },
        { Head + "  io ffff:2;\n};", 3, "io length must be 0x1..0x1, not 0x2" },
        { Head + "  io 0:10000;\n};", 3, "io length must be 0x1..0xffff, not 0x10000" },
        // A statement over several lines: the error is at the line of the range at fault.
        { Head + "  io 300:8\n     400:8\n     500:0;\n};", 5, "io length must be 0x1..0xfb00, not 0x0" },
        { Head + "  io 300:8\n     zz:8\n     500:8;\n};", 4, "bad hex number 'zz' for io base" },
        { Head + $"  io {Sixteen}\n     2000:4;\n}};", 4, "too many port ranges in process 'p' (at most 16)" },
        { Head + $"  io {Sixteen};\n  io 2000:4;\n}};", 4, "too many port ranges in process 'p' (at most 16)" },
        { Head + "  trusted yes;\n};", 3, "'trusted' takes no value" },
        { Head + "  trusted;\n  trusted;\n};", 4, "duplicate 'trusted' in process 'p'" },
        { Head + "  io 300:8\n  trusted;\n};", 3, "missing ';' after 'io 300:8'" },
        { Head + "  trusted\n  io 300:8;\n};", 3, "missing ';' after 'trusted'" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_Mistake_NamesFileLineAndReason(string text, int line, string reason)
    {
        var e = Assert.Throws<BootConfigException>(() => BootConfig.Parse(text, "etc/test.conf"));
        Assert.Equal($"etc/test.conf:{line}: {reason}", e.Message);
        Assert.Equal((line, reason, "etc/test.conf"), (e.Line, e.Reason, e.File));
    }

    // `restart;` (docs/rs.md, "Boot processes"): RS restarts the process; PM is its parent of record.
    private const string Core = "process pm { program image pm; slot 0; };\nprocess rs { program image rs; slot 2; };\n";

    [Fact]
    public void Parse_Restart_MakesARestartableSpecWhosParentIsPm()
    {
        var c = BootConfig.Parse(Core + "process ds { program image ds; slot 6; restart; };\nprocess echo { program image echo; };");
        var ds = c.Find("ds")!;
        Assert.True(ds.Restart);
        var spec = ds.ToSpec("/img", "/root", _ => 0);
        Assert.True(spec.Restartable);
        Assert.Equal(Bulkhead.Lib.Ipc.Endpoint.Pm, spec.Parent);
        var echo = c.Find("echo")!.ToSpec("/img", "/root", _ => 0);
        Assert.False(echo.Restartable);
        Assert.Equal(Bulkhead.Lib.Ipc.Endpoint.Kernel, echo.Parent);
    }

    public static TheoryData<string, int, string> RestartErrors => new()
    {
        { Core + "process x {\n program image x;\n restart;\n restart;\n};", 6, "duplicate 'restart' in process 'x'" },
        { Core + "process x {\n program image x;\n restart 5;\n};", 5, "'restart' takes no value" },
        { "process pm {\n program image pm;\n slot 0;\n restart;\n};\nprocess rs { program image rs; slot 2; };", 4,
          "process 'pm' in slot 0 cannot be restarted: PM and RS are the core of recovery (thesis §4.3.2)" },
        { "process rs { program image rs; slot 2; };\nprocess x {\n program image x;\n restart;\n};", 4,
          "'restart' in process 'x' needs pm as a boot process in slot 0" },
        { "process pm { program image pm; slot 0; };\nprocess x {\n program image x;\n restart;\n};", 4,
          "'restart' in process 'x' needs rs as a boot process in slot 2" },
    };

    [Theory]
    [MemberData(nameof(RestartErrors))]
    public void Parse_RestartMistake_NamesFileLineAndReason(string text, int line, string reason) =>
        Parse_Mistake_NamesFileLineAndReason(text, line, reason);
}
