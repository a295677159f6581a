// bulkhead-kernel: the kernel process of a Bulkhead instance (ARCHITECTURE.md §1) — the one
// Linux process that holds the process table, the IPC engine, the system task and the machine
// model. `./bulkhead boot` reaches it through bulkhead-host, which execs it; it can also be
// run by hand. Command line: KernelArgs. What it does: Boot/BootCommand.cs (load and check
// boot.conf, the run directory, the devices, the boot processes, the control socket,
// detaching and shutdown). Exit status: 0 after a requested shutdown, 1 when the boot fails
// or the kernel stops by itself, 2 for a usage error.
using Bulkhead.Kernel.Main;
using Bulkhead.Kernel.Main.Boot;
using Bulkhead.Lib.Control;

if (args is ["help" or "--help" or "-h"])
{
    Console.WriteLine(KernelArgs.Usage);
    return 0;
}
if (KernelArgs.Parse(args) is not { } options) return 2;
return BootCommand.Run(RunDirectory.Create(options.Root, options.Run), options);
