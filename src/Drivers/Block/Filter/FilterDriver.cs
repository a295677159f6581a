// filter: the filter driver of thesis §4.4 (Figs. 4.7, 4.8). It speaks the block-driver
// protocol on both sides — to the file system as a driver (BlockDriver), to the disk drivers
// as a client (BlockClient) — so it is inserted between them by configuration alone (etc/rc;
// docs/filter.md). Arguments: FilterOptions.cs.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.Filter;

public static class FilterDriver
{
    public static int Run(string[] args)
    {
        string label = Channel.Current.Name;
        var options = FilterOptions.Parse(args.Skip(1), out string error);
        if (options is null)
        {
            SysCall.Diag($"{label}: {error} (want: primary=LABEL:MINOR [backup=LABEL:MINOR] [checksum=N] [verify] [retries=N] [complaints=M] [scope=operation|lifetime] [outage=K] [timeout=MS])");
            return 2;
        }
        return new BlockDriver(new FilterDevice(options)).Run(label);
    }
}
