// Permission checks of the mode bits against a caller (POSIX: owner bits if the caller owns
// the file, else group bits if its group matches, else the others' bits). The superuser may
// read and write anything and may execute or search anything that is a directory or has an x
// bit somewhere.
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public static class MfsAccess
{
    /// <summary>Whether <paramref name="cred"/> has every right in <paramref name="want"/> (ModeBits.Read|Write|Execute).</summary>
    public static bool Allowed(ushort mode, ushort uid, ushort gid, MfsCred cred, int want)
    {
        if (cred.IsRoot)
        {
            if ((want & ModeBits.Execute) == 0) return true;
            return (mode & ModeBits.TypeMask) == ModeBits.Directory || (mode & 0x49) != 0; // 0111
        }
        int bits = cred.Uid == uid ? (mode >> 6) & 7 : cred.Gid == gid ? (mode >> 3) & 7 : mode & 7;
        return (bits & want) == want;
    }

    internal static bool Allowed(in DiskInode i, MfsCred cred, int want) => Allowed(i.Mode, i.Uid, i.Gid, cred, want);

    /// <summary>Owner or superuser: who may chmod, utime to a given time, or delete in a sticky directory.</summary>
    public static bool IsOwner(ushort uid, MfsCred cred) => cred.IsRoot || cred.Uid == uid;
}
