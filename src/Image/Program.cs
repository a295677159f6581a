// bulkhead-image: one binary for all built-in components (ARCHITECTURE.md §9). The kernel
// starts it with argv[0] = the process name and argv[1] = the component, so Main sees
// [component, args...]. A component runs until it returns its exit status. Started by hand
// (outside a Bulkhead kernel) it only prints what it is.
using Bulkhead.Commands.Init;
using Bulkhead.Commands.IpcPing;
using Bulkhead.Lib.Ipc;
using Bulkhead.Servers.Echo;

var components = new Dictionary<string, Func<string[], int>>
{
    ["init"] = InitCommand.Run,
    ["echo"] = EchoServer.Run,
    ["ipcping"] = IpcPingCommand.Run,
    ["ping"] = Bulkhead.Commands.Ping.PingCommand.Run,
    ["daytime"] = Bulkhead.Commands.Daytime.DaytimeCommand.Run,
    ["daytimed"] = Bulkhead.Commands.Daytime.DaytimeServer.Run,
    ["wget"] = Bulkhead.Commands.Wget.WgetCommand.Run,
    ["nc"] = Bulkhead.Commands.Nc.NcCommand.Run,
    ["netstat"] = Bulkhead.Commands.Netstat.NetstatCommand.Run,
    ["ls"] = Bulkhead.Commands.FileTools.LsCommand.Run,
    ["cat"] = Bulkhead.Commands.FileTools.CatCommand.Run,
    ["cp"] = Bulkhead.Commands.FileTools.CpCommand.Run,
    ["mv"] = Bulkhead.Commands.FileTools.MvCommand.Run,
    ["rm"] = Bulkhead.Commands.FileTools.RmCommand.Run,
    ["mkdir"] = Bulkhead.Commands.FileTools.MkdirCommand.Run,
    ["stat"] = Bulkhead.Commands.FileTools.StatCommand.Run,
    ["df"] = Bulkhead.Commands.FileTools.DfCommand.Run,
    ["mount"] = Bulkhead.Commands.FileTools.MountCommand.Run,
    ["umount"] = Bulkhead.Commands.FileTools.UmountCommand.Run,
    ["mkfs"] = Bulkhead.Commands.FileTools.MkfsCommand.Run,
    ["sync"] = Bulkhead.Commands.FileTools.SyncCommand.Run,
    ["dd"] = Bulkhead.Commands.FileTools.DdCommand.Run,
    ["sha1sum"] = Bulkhead.Commands.FileTools.Sha1sumCommand.Run,
    ["ds"] = Bulkhead.Servers.Ds.DsServer.Run,
    ["inet"] = Bulkhead.Servers.Inet.Server.InetServer.Run,
    ["vfs"] = Bulkhead.Servers.Vfs.VfsServer.Run,
    ["pm"] = Bulkhead.Servers.Pm.PmServer.Run,
    ["rs"] = Bulkhead.Servers.Rs.RsServer.Run,
    ["testdrv"] = Bulkhead.Drivers.Test.TestDriver.Run,
    ["dp8390"] = Bulkhead.Drivers.Net.Dp8390.Dp8390Driver.Run,
    ["rtl8139"] = Bulkhead.Drivers.Net.Rtl8139.Rtl8139Driver.Run,
    ["pci"] = Bulkhead.Drivers.Pci.PciDriver.Run,
    ["iommu"] = Bulkhead.Drivers.Iommu.IommuDriver.Run,
    ["memory"] = Bulkhead.Drivers.Block.Memory.MemoryDriver.Run,
    ["at_wini"] = Bulkhead.Drivers.Block.AtWini.AtWiniDriver.Run,
    ["filter"] = Bulkhead.Drivers.Block.Filter.FilterDriver.Run,
    ["mfs"] = Bulkhead.Servers.Mfs.Server.MfsServer.Run,
    ["service"] = Bulkhead.Commands.Service.ServiceCommand.Run,
};

if (Bulkhead.Bench.BenchComponents.TryRun(args) is { } benchStatus) return benchStatus;
if (args.Length == 0 || !components.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: bulkhead-image {string.Join('|', components.Keys)} [args...]");
    return 2;
}
if (!Channel.IsComponent)
{
    Console.Error.WriteLine($"bulkhead-image: '{args[0]}' is a Bulkhead component; the kernel starts it (see etc/boot.conf)");
    return 2;
}
return run(args);
