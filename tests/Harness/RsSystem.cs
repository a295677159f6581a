// A small Bulkhead system for driver-manager tests: PM, DS and RS at their fixed slots with
// their boot privileges, RS reading etc/drivers.conf with fast tunables, a "manager" puppet
// playing the service utility and a "client" puppet using the test driver.
using Bulkhead.Kernel;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Tests.Harness;

public sealed class RsSystem : IDisposable
{
    public static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    public TestSystem Sys { get; }
    public Puppet Manager { get; }
    public Puppet Client { get; }

    public static string DriversConf => Path.Combine(TestSystem.RepoRoot(), "etc", "drivers.conf");

    public RsSystem(Xunit.Abstractions.ITestOutputHelper? output = null, params string[] rsTunables)
        : this(output, (Bulkhead.Machine.Io.IoSpace?)null, rsTunables)
    {
    }

    public RsSystem(Xunit.Abstractions.ITestOutputHelper? output, Bulkhead.Machine.Io.IoSpace? io, params string[] rsTunables)
        : this(output, io, null, rsTunables)
    {
    }

    /// <summary>With a <paramref name="board"/>: also the trusted PCI-bus and IOMMU drivers as
    /// etc/boot.conf defines them (BusDrivers).</summary>
    /// <param name="plug">plugs the devices in once the kernel exists (their IRQ lines are the
    /// kernel's) and before the PCI-bus driver scans the bus</param>
    public RsSystem(Xunit.Abstractions.ITestOutputHelper? output, Bulkhead.Machine.Board board, Action<Bulkhead.Kernel.Kernel> plug, params string[] rsTunables)
        : this(output, null, board, rsTunables, plug)
    {
    }

    private RsSystem(Xunit.Abstractions.ITestOutputHelper? output, Bulkhead.Machine.Io.IoSpace? io, Bulkhead.Machine.Board? board, string[] rsTunables,
                     Action<Bulkhead.Kernel.Kernel>? plug = null)
    {
        Sys = new TestSystem(slots: 64, output: output, io: io, board: board);
        plug?.Invoke(Sys.Kernel);
        if (board is not null) BusDrivers.Start(Sys);
        var server = TestSystem.Privileges(traps: Trap.MaskAll, flags: PrivilegeBlock.AllTargets | PrivilegeBlock.SysProc,
            calls: [KernelCall.SetGrant, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy, KernelCall.SysCtl, KernelCall.Times, KernelCall.GetInfo, KernelCall.SetAlarm]);
        var pm = server;
        pm.AllowCall(KernelCall.Spawn);
        pm.AllowCall(KernelCall.Kill);
        pm.AllowCall(KernelCall.GetKsig);
        Start("pm", Endpoint.Pm, pm);
        Start("ds", Endpoint.Ds, server);
        string[] fast = ["backoff_base_ms=100", "backoff_cap_ms=400", "healthy_ms=2000", "init_timeout_ms=5000", "stop_timeout_ms=500"];
        var rs = server;
        rs.AllowCall(KernelCall.Image);
        rs.AllowCall(KernelCall.PrivCtl); // releases the instances it starts held
        Start("rs", Endpoint.Rs, rs, [DriversConf, .. fast, .. rsTunables], JailView.Host);
        var user = TestSystem.Privileges(traps: Trap.MaskAll, calls: [KernelCall.SetGrant, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets);
        Manager = Sys.StartPuppet("manager", user);
        Client = Sys.StartPuppet("client", user);
        TestSystem.WaitUntil(() => Sys.Console.Has("rs: driver manager up"), "RS up");
    }

    private void Start(string name, int slot, PrivilegeBlock priv, string[]? args = null, JailView files = JailView.Bare)
    {
        int ep = Sys.Kernel.Spawn(new ProcessSpec { Name = name, Path = Image, Args = [name, .. args ?? []], Slot = slot, Privileges = priv, Files = files });
        Assert.Equal(slot, ep);
    }

    /// <summary>`service up` of the test driver under <paramref name="label"/>; returns its endpoint.</summary>
    public int Up(string label, string extra = "")
    {
        var a = Manager.Ask($"rs up label={label};binary={Image};args=testdrv{(extra.Length > 0 ? ";" + extra : "")}");
        Assert.True(Puppet.Field(a, 1) == "OK" && Puppet.Field(a, 2) == "OK", a);
        int ep = (int)Puppet.LongField(a, 3);
        WaitState(label, "running");
        return ep;
    }

    /// <summary>RS's table row for <paramref name="label"/>: [label, endpoint, state, restarts, reason, incarnation].</summary>
    public string[] Row(string label)
    {
        var a = Manager.Ask("rs list");
        foreach (var line in a.Split('|'))
        {
            var f = line.Split(' ');
            if (f.Length >= 6 && f[0] == label) return f;
            if (f.Length >= 10 && f[4] == label) return f[4..];
        }
        return [];
    }

    public void WaitState(string label, string state, int timeoutMs = 20_000) =>
        TestSystem.WaitUntil(() => Row(label) is { Length: > 2 } r && r[2] == state, $"{label} {state}", timeoutMs);

    /// <summary>Ends the system; fails the test if RS logged a move outside its state machine's
    /// table (ServiceLifecycle) at any time during it.</summary>
    public void Dispose()
    {
        Sys.Dispose();
        var illegal = Sys.Console.Lines.Where(l => l.Contains("illegal transition", StringComparison.Ordinal)).ToList();
        Assert.True(illegal.Count == 0, string.Join('\n', illegal));
    }
}
