// Who is asking: the caller's effective user and group, as VFS passes them in each request.
// Uid 0 is the superuser. Supplementary groups are not modelled.
namespace Bulkhead.Servers.Mfs;

public readonly record struct MfsCred(ushort Uid, ushort Gid)
{
    public static MfsCred Root => new(0, 0);
    public bool IsRoot => Uid == 0;
}
