// Where arenas live: unnamed files (O_TMPFILE, mode 0600, owned by root) of one tmpfs mounted
// noexec and attached nowhere (fsopen/fsmount), so it is invisible to every process and no
// mapping of an arena can be executable — a component cannot write code into its arena and run
// it (a memfd, even sealed MFD_NOEXEC_SEAL, can still be mapped PROT_EXEC). The mount is made
// once per host process and lives as long as it. Without the privilege to make it (an
// unconfined kernel run by a normal user) Create answers -1 and the caller uses a memfd.
using Bulkhead.Lib.Host;

namespace Bulkhead.Kernel.Host;

internal static class ArenaFs
{
    private const int SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432;
    private const int FSOPEN_CLOEXEC = 1, FSCONFIG_CMD_CREATE = 6, FSMOUNT_CLOEXEC = 1;
    private const int MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4, MOUNT_ATTR_NOEXEC = 0x8;
    private const int O_TMPFILE = 0x410000; // __O_TMPFILE | O_DIRECTORY

    private static readonly Lazy<int> s_mount = new(Mount);

    /// <summary>A new empty arena file (read-write, close-on-exec), or -1.</summary>
    public static int Create()
    {
        int mnt = s_mount.Value;
        return mnt < 0 ? -1 : Native.openat(mnt, ".", O_TMPFILE | Native.O_RDWR | Native.O_CLOEXEC, 0x180);
    }

    private static unsafe int Mount()
    {
        int fs = (int)Native.syscall(SYS_fsopen, Str("tmpfs"), FSOPEN_CLOEXEC, 0, 0, 0, 0);
        if (fs < 0) return -1;
        try
        {
            if (Native.syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0, 0) != 0) return -1;
            int mnt = (int)Native.syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0);
            return mnt >= 0 ? mnt : -1;
        }
        finally
        {
            Native.close(fs);
        }
    }

    /// <summary>A NUL-terminated copy of <paramref name="s"/> that lives for the process.</summary>
    private static nint Str(string s) => System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(s);
}
