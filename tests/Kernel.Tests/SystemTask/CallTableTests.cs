// The kernel-call table: the system task performs exactly the calls KernelCall names (number
// and name are declared once in KernelCall, the handler once in SystemTask's table).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.SystemTask;

public sealed class CallTableTests
{
    [Fact]
    public void Table_HandlesExactlyTheNamedCalls()
    {
        using var sys = new TestSystem();
        for (int call = -1; call <= KernelCall.Count; call++)
            Assert.True(KernelCall.IsDefined(call) == sys.Kernel.HandlesKernelCall(call),
                $"{KernelCall.Name(call)}: named {KernelCall.IsDefined(call)}, handled {sys.Kernel.HandlesKernelCall(call)}");
    }
}
