// Entry point of the `rs` component: rs <drivers.conf> [key=value tunables, see RsOptions].
namespace Bulkhead.Servers.Rs;

public static class RsServer
{
    public static int Run(string[] args) => DriverManager.Run(args);
}
