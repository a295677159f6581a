// Shared helpers for the data store tests: boot DS (bulkhead-image ds) at its fixed slot 6 and a
// puppet playing RS at slot 2 (the only endpoint DS lets publish labels), and start client
// puppets that RS names with a label, as RS does for every service it starts.
using Bulkhead.Kernel;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Tests.Ds;

internal static class DsKit
{
    /// <summary>The DS test classes run one after another: each starts several host processes.</summary>
    public const string Collection = "Ds";
    public const int NotifyType = NotifyPayload.MessageType;

    public static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    private static readonly int[] Calls =
        [.. TestSystem.InfoCalls, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SetGrant];

    public static PrivilegeBlock Privileges() => TestSystem.Privileges(calls: Calls, flags: PrivilegeBlock.AllTargets);

    /// <summary>Starts DS at slot 6 and the RS puppet at slot 2; returns the RS puppet.</summary>
    public static Puppet Boot(TestSystem sys)
    {
        int ds = sys.Kernel.Spawn(new ProcessSpec
        {
            Name = "ds",
            Path = Image,
            Args = ["ds"],
            Slot = Endpoint.Ds,
            Privileges = Privileges(),
        });
        Assert.Equal(Endpoint.Ds, ds);
        var rs = sys.StartPuppet("rs", Privileges(), slot: Endpoint.Rs);
        Assert.Equal(Endpoint.Rs, rs.Endpoint);
        return rs;
    }

    /// <summary>Starts a client puppet and has RS publish <paramref name="label"/> for it.</summary>
    public static Puppet Client(TestSystem sys, Puppet rs, string label)
    {
        var p = sys.StartPuppet(label, Privileges());
        Assert.Equal("r OK", rs.Ask($"ds pub label {label} {p.Endpoint} overwrite"));
        return p;
    }

    /// <summary>A client without a label (RS never named it).</summary>
    public static Puppet Stranger(TestSystem sys, string name) => sys.StartPuppet(name, Privileges());

    /// <summary>Waits for DS's NOTIFY at <paramref name="p"/>.</summary>
    public static void Notified(Puppet p) =>
        Assert.StartsWith($"r OK {Endpoint.Ds} {NotifyType} ", p.Ask($"recv {Endpoint.Ds}", 10_000));

    /// <summary>Kills <paramref name="p"/> and waits until the kernel has retired it.</summary>
    public static void Kill(TestSystem sys, Puppet p)
    {
        Assert.Equal(0, sys.Kernel.Kill(p.Endpoint, 9));
        TestSystem.WaitUntil(() => sys.Find(p.Endpoint) is not { } i || i.State == ProcState.Zombie, $"{p.Name} to die", 10_000);
    }
}
