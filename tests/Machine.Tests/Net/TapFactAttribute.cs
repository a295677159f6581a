// A Fact that runs only where a TAP test can: as root, with /dev/net/tun present and the `ip`
// and `python3` host tools on PATH (network namespaces are created with `ip netns`). Elsewhere
// the test is reported as skipped with the reason, rather than failing.
using Xunit;

namespace Bulkhead.Machine.Tests.Net;

public sealed class TapFactAttribute : FactAttribute
{
    public TapFactAttribute()
    {
        string? reason = WhyNot();
        if (reason is not null) Skip = reason;
    }

    private static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux()) return "TAP tests need Linux";
        if (Environment.UserName != "root" && geteuid() != 0) return "TAP tests need root (not running as root)";
        if (!File.Exists("/dev/net/tun")) return "TAP tests need /dev/net/tun (missing)";
        if (FindOnPath("ip") is null) return "TAP tests need the `ip` tool (iproute2) on PATH";
        if (FindOnPath("python3") is null) return "TAP tests need python3 on PATH";
        return null;
    }

    internal static string? FindOnPath(string tool)
    {
        string[] dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (string d in dirs.Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            string p = Path.Combine(d, tool);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
#pragma warning disable SYSLIB1054 // a one-off in a test attribute; the test project is not unsafe
    private static extern uint geteuid();
#pragma warning restore SYSLIB1054
}
