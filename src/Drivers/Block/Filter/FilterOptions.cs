// The filter driver's arguments (etc/rc passes them with -args):
//   primary=LABEL:MINOR   the device the file system's data lives on (required)
//   backup=LABEL:MINOR    a mirror: every write goes to both, reads that fail come from it
//   checksum=N            one checksum sector after every N data sectors (1..127); 0: none
//   verify                read every write back and compare it (finds writes that did not land)
//   retries=N             attempts per operation before it fails with EIO (1..100, default 3)
//   complaints=M          complaints to RS about a device's driver (0..100, default 1) ...
//   scope=operation|lifetime   ... per operation (default) or over the filter's whole life
//   outage=K              consecutive failed operations after which a mirrored device is taken
//                         out of service (1..1000, default 3)
//   timeout=MS            how long a device may take to answer one request (default 2000)
//   format=EPOCH          may format a new (all-zero) device again in this boot, once per EPOCH
//                         (1..1000000000): for an operator who zeroed the device on purpose.
//                         Without it a device is formatted at most once per boot, so that a
//                         driver answering zeros to a restarted filter cannot have it wiped.
using System.Globalization;

namespace Bulkhead.Drivers.Block.Filter;

public sealed class FilterOptions
{
    public (string Label, int Minor) Primary { get; private set; } = ("", -1);
    public (string Label, int Minor)? Backup { get; private set; }
    public int Checksum { get; private set; }
    public bool Verify { get; private set; }
    public int Retries { get; private set; } = 3;
    public int Complaints { get; private set; } = 1;
    public bool ComplaintsPerLifetime { get; private set; }
    public int Outage { get; private set; } = 3;
    public long TimeoutMs { get; private set; } = 2000;
    public int FormatEpoch { get; private set; }

    /// <summary>Parses the arguments; null and the reason when one is wrong.</summary>
    public static FilterOptions? Parse(IEnumerable<string> args, out string error)
    {
        var o = new FilterOptions();
        error = "";
        foreach (string a in args)
        {
            int eq = a.IndexOf('=');
            string key = eq < 0 ? a : a[..eq], value = eq < 0 ? "" : a[(eq + 1)..];
            bool ok = key switch
            {
                "primary" => Device(value, out var p) && Set(() => o.Primary = p),
                "backup" => Device(value, out var b) && Set(() => o.Backup = b),
                "checksum" => Number(value, 0, ChecksumLayout.MaxGroup, out int n) && Set(() => o.Checksum = n),
                "verify" => eq < 0 && Set(() => o.Verify = true),
                "retries" => Number(value, 1, 100, out int r) && Set(() => o.Retries = r),
                "complaints" => Number(value, 0, 100, out int c) && Set(() => o.Complaints = c),
                "scope" => value is "operation" or "lifetime" && Set(() => o.ComplaintsPerLifetime = value == "lifetime"),
                "outage" => Number(value, 1, 1000, out int k) && Set(() => o.Outage = k),
                "timeout" => Number(value, 1, 60_000, out int ms) && Set(() => o.TimeoutMs = ms),
                "format" => Number(value, 1, 1_000_000_000, out int epoch) && Set(() => o.FormatEpoch = epoch),
                _ => false,
            };
            if (!ok)
            {
                error = $"bad argument '{a}'";
                return null;
            }
        }
        if (o.Primary.Minor < 0)
        {
            error = "no primary=LABEL:MINOR";
            return null;
        }
        if (o.Backup is { } bk && bk == o.Primary)
        {
            error = "the backup is the primary";
            return null;
        }
        return o;
    }

    private static bool Set(Action set)
    {
        set();
        return true;
    }

    private static bool Device(string s, out (string, int) device)
    {
        device = ("", -1);
        int colon = s.LastIndexOf(':');
        if (colon <= 0 || !Number(s[(colon + 1)..], 0, 255, out int minor)) return false;
        device = (s[..colon], minor);
        return true;
    }

    private static bool Number(string s, int min, int max, out int n) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n >= min && n <= max;
}
