// Facts and theories that run only where a TAP test can: as root on Linux, with /dev/net/tun
// and the `ip` and `python3` host tools (network namespaces are made with `ip netns`; the Linux
// side is driven from python3). Elsewhere the test is reported as skipped with the reason.
namespace Bulkhead.Tests.Harness;

public sealed class TapFactAttribute : FactAttribute
{
    public TapFactAttribute() => Skip = WhyNot();

    /// <summary>Why TAP tests cannot run here, or null.</summary>
    public static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux()) return "TAP tests need Linux";
        if (Environment.UserName != "root") return "TAP tests need root (not running as root)";
        if (!File.Exists("/dev/net/tun")) return "TAP tests need /dev/net/tun (missing)";
        if (!OnPath("ip")) return "TAP tests need the `ip` tool (iproute2) on PATH";
        if (!OnPath("python3")) return "TAP tests need python3 on PATH";
        return null;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, tool)));
}

public sealed class TapTheoryAttribute : TheoryAttribute
{
    public TapTheoryAttribute() => Skip = TapFactAttribute.WhyNot();
}
