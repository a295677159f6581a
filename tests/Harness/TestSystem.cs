// A kernel instance for one test, hosted in the test process, with helpers to start test
// processes (bulkhead-testproc) and steer them. Disposing it shuts the kernel down and checks
// that no host process is left behind.
using System.Text;
using Bulkhead.Kernel;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Tests.Harness;

public sealed class TestSystem : IDisposable
{
    public static readonly string TestProc = Path.Combine(AppContext.BaseDirectory, "bulkhead-testproc");

    private readonly List<Puppet> _puppets = [];
    public Bulkhead.Kernel.Kernel Kernel { get; }
    public ConsoleCapture Console { get; } = new();

    private readonly Xunit.Abstractions.ITestOutputHelper? _output;

    public TestSystem(int slots = 64, long quantumNs = 100_000_000, ulong cpuMask = 0, Xunit.Abstractions.ITestOutputHelper? output = null,
                      Bulkhead.Machine.Io.IoSpace? io = null, Bulkhead.Machine.Board? board = null)
    {
        _output = output;
        string root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(
            System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'))))!;
        Kernel = new Bulkhead.Kernel.Kernel(new KernelOptions
        {
            ProcSlots = slots,
            QuantumNs = quantumNs,
            CpuMask = cpuMask,
            Console = Console,
            Io = board?.Io ?? io,
            DmaMemory = board?.Memory,
            Iommu = board?.Iommu,
            Environment = new Dictionary<string, string> { ["DOTNET_ROOT"] = root, ["DOTNET_TieredPGO"] = "0" },
            Confinement = new JailOptions { ScriptBinds = [(ScriptDir, ScriptDir)] },
        });
    }

    /// <summary>A host directory recovery scripts of every test system see (read-only): tests
    /// put scripts and the files scripts wait for in subdirectories of it.</summary>
    public static readonly string ScriptDir = MakeScriptDir();

    private static string MakeScriptDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "bulkhead-test-scripts");
        Directory.CreateDirectory(dir);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(dir, (UnixFileMode)0x1ED); // 0755: scripts run as unprivileged uids
        return dir;
    }

    /// <summary>A privilege block: the given primitives, kernel calls and targets.</summary>
    public static PrivilegeBlock Privileges(uint traps = Trap.MaskAll, int[]? calls = null, int[]? targets = null, uint flags = 0)
    {
        var p = new PrivilegeBlock { TrapMask = traps, Flags = flags };
        foreach (var c in calls ?? []) p.AllowCall(c);
        foreach (var t in targets ?? []) p.AddTarget(t);
        return p;
    }

    public static readonly int[] InfoCalls = [KernelCall.SysCtl, KernelCall.Times, KernelCall.GetInfo, KernelCall.SetAlarm];

    /// <summary>Starts a puppet and waits until it answers.</summary>
    public Puppet StartPuppet(string name, PrivilegeBlock? priv = null, string[]? extraArgs = null, int slot = -1, int parent = Endpoint.Kernel,
                              JailView files = JailView.Bare)
    {
        var pup = Puppet.Start(Kernel, name, priv ?? Privileges(calls: InfoCalls, flags: PrivilegeBlock.AllTargets), extraArgs, slot: slot, parent: parent, files: files);
        _puppets.Add(pup);
        var who = pup.Ask("whoami");
        Assert.StartsWith("ep ", who);
        return pup;
    }

    /// <summary>Starts a test process in a given role with its output captured.</summary>
    public Puppet Start(string name, string role, PrivilegeBlock priv, params string[] args)
    {
        var pup = Puppet.Start(Kernel, name, priv, [role, .. args], puppetRole: false);
        _puppets.Add(pup);
        return pup;
    }

    /// <summary>The repository this test build came from (the nearest parent with etc/boot.conf).</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "etc", "boot.conf"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    public ProcInfo? Find(int endpoint) => Kernel.ProcessTable().Cast<ProcInfo?>().FirstOrDefault(p => p!.Value.Endpoint == endpoint);

    /// <summary>Waits until <paramref name="cond"/> holds or fails the test.</summary>
    public static void WaitUntil(Func<bool> cond, string what, int timeoutMs = 20_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!cond())
        {
            if (DateTime.UtcNow > until) Assert.Fail("timed out waiting for " + what);
            Thread.Sleep(5);
        }
    }

    public void Dispose()
    {
        if (_output is not null)
        {
            _output.WriteLine("--- console ---");
            foreach (var l in Console.Lines.TakeLast(60)) _output.WriteLine(l);
            foreach (var p in Kernel.IsRunning ? Kernel.ProcessTable() : [])
                _output.WriteLine($"{p.Name} slot {p.Slot} ep {p.Endpoint} {p.State} blocked-on {p.BlockedOn} traps {p.Traps} level {p.Level}");
        }
        var pids = Kernel.IsRunning ? Kernel.ProcessTable().Where(p => p.HostPid > 0 && p.State != ProcState.Zombie).Select(p => p.HostPid).ToList() : [];
        Kernel.Dispose();
        foreach (var p in _puppets) p.Dispose();
        foreach (int pid in pids)
            Assert.False(HostProcess.Exists(pid), $"host process {pid} survived kernel shutdown");
    }
}

/// <summary>Console writer that keeps every line for assertions.</summary>
public sealed class ConsoleCapture : TextWriter
{
    private readonly List<string> _lines = [];
    private readonly StringBuilder _partial = new();
    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_lines)
        {
            if (value == '\n')
            {
                _lines.Add(_partial.ToString());
                _partial.Clear();
            }
            else
            {
                _partial.Append(value);
            }
        }
    }

    public string[] Lines
    {
        get { lock (_lines) return [.. _lines]; }
    }

    public bool Has(string fragment) => Lines.Any(l => l.Contains(fragment, StringComparison.Ordinal));
}

public static class HostProcess
{
    /// <summary>True if a host process with this pid exists and is not a zombie.</summary>
    public static bool Exists(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && stat.Length > close + 2 && stat[close + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The live (not zombie) host processes running as <paramref name="uid"/>.</summary>
    public static List<int> OfUid(uint uid)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                string? uidLine = status.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                string? state = status.FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal));
                if (uidLine is not null && uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    && state is not null && !state.Contains("zombie", StringComparison.Ordinal))
                    pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }
}
