// The puppet's file calls (`vfs <call> args...`), a program's side of VFS through the library
// (Lib/Vfs/Files.cs), each answered with one line "r <result> [fields...]" (result: a count or
// descriptor in decimal, else the Err name). Data written is made from a seed
// (System.Random(seed).NextBytes) or given as text (`writes FD TEXT`); data read is summarized
// by its SHA-256 and, for `reads`, shown as text.
//   open PATH FLAGS MODE | close FD | read FD LEN | reads FD LEN | write FD SEED LEN |
//   writes FD TEXT | pread FD POS LEN | pwrite FD POS SEED LEN | lseek FD OFF WHENCE |
//   stat PATH | lstat PATH | fstat FD | ls PATH | mkdir PATH | rmdir PATH | unlink PATH |
//   rename A B | link A B | symlink TARGET PATH | readlink PATH | chdir PATH | fchdir FD |
//   chmod PATH MODE (hex) | chown PATH UID GID |
//   truncate PATH SIZE | ftruncate FD SIZE | fsync FD | dup FD | dup2 FD FD2 | pipe |
//   mknod PATH MODE DEV | mount DEV POINT LABEL RO | umount PATH | sync | statfs PATH |
//   cat PATH (the whole file's length and SHA-256) | openmany PATH N (opens until N or an error) |
//   pwritehex FD POS HEX (writes the bytes given in hex at POS) | raw TYPE FD GRANT LENGTH FD2 (a request made by
//   hand, VfsCall.Base + TYPE, no library checks: the answer's m_type)
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.TestComponents;

internal static class VfsRequests
{
    private static int I(string s) => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);
    private static long L(string s) => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>A count or descriptor in decimal, else the Err name.</summary>
    private static string C(int r) => r >= 0 ? r.ToString(CultureInfo.InvariantCulture) : Err.Name(r);

    /// <summary>OK or the Err name.</summary>
    private static string R(int r) => Err.Name(r);

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    private static string Stat(int r, in VfsStatReply s) =>
        r != Err.Ok ? $"r {R(r)}" : FormattableString.Invariant($"r OK mode={s.Mode:x} size={s.Size} nlinks={s.Nlinks} ino={s.Ino} rdev={s.Rdev} dev={s.Dev} uid={s.Uid} gid={s.Gid}");

    public static string Do(string[] w)
    {
        VfsStatReply st;
        switch (w[1])
        {
            case "open": return $"r {C(Files.Open(w[2], I(w[3]), I(w[4])))}";
            case "close": return $"r {R(Files.Close(I(w[2])))}";
            case "read":
            case "reads":
            {
                var b = new byte[I(w[3])];
                int r = Files.Read(I(w[2]), b);
                if (r < 0) return $"r {R(r)}";
                return w[1] == "read" ? $"r {r} {Hash(b.AsSpan(0, r))}" : $"r {r} {Encoding.UTF8.GetString(b, 0, r)}";
            }
            case "pread":
            {
                var b = new byte[I(w[4])];
                int r = Files.ReadAt(I(w[2]), L(w[3]), b);
                return r < 0 ? $"r {R(r)}" : $"r {r} {Hash(b.AsSpan(0, r))}";
            }
            case "write": return $"r {C(Files.Write(I(w[2]), Pattern(I(w[4]), I(w[3]))))}";
            case "writes": return $"r {C(Files.Write(I(w[2]), Encoding.UTF8.GetBytes(string.Join(' ', w[3..]))))}";
            case "pwrite": return $"r {C(Files.WriteAt(I(w[2]), L(w[3]), Pattern(I(w[5]), I(w[4]))))}";
            case "lseek":
            {
                int r = Files.Seek(I(w[2]), L(w[3]), I(w[4]), out long pos);
                return $"r {R(r)} {pos}";
            }
            case "stat": return Stat(Files.Stat(w[2], out st), st);
            case "lstat": return Stat(Files.LStat(w[2], out st), st);
            case "fstat": return Stat(Files.FStat(I(w[2]), out st), st);
            case "ls":
            {
                var list = new List<(string Name, uint Ino)>();
                int r = Files.ReadDirectory(w[2], list);
                return r != Err.Ok ? $"r {R(r)}" : $"r OK {string.Join(',', list.Select(e => e.Name).Where(n => n is not "." and not "..").Order(StringComparer.Ordinal))}";
            }
            case "mkdir": return $"r {R(Files.Mkdir(w[2]))}";
            case "rmdir": return $"r {R(Files.Rmdir(w[2]))}";
            case "unlink": return $"r {R(Files.Unlink(w[2]))}";
            case "rename": return $"r {R(Files.Rename(w[2], w[3]))}";
            case "link": return $"r {R(Files.Link(w[2], w[3]))}";
            case "symlink": return $"r {R(Files.Symlink(w[2], w[3]))}";
            case "readlink":
            {
                int r = Files.ReadLink(w[2], out string target);
                return $"r {C(r)} {target}";
            }
            case "chmod": return $"r {R(Files.Chmod(w[2], Convert.ToInt32(w[3], 16)))}";
            case "chown": return $"r {R(Files.Chown(w[2], I(w[3]), I(w[4])))}";
            case "chdir": return $"r {R(Files.Chdir(w[2]))}";
            case "fchdir": return $"r {R(Files.Fchdir(I(w[2])))}";
            case "truncate": return $"r {R(Files.Truncate(w[2], L(w[3])))}";
            case "ftruncate": return $"r {R(Files.Ftruncate(I(w[2]), L(w[3])))}";
            case "fsync": return $"r {R(Files.Fsync(I(w[2])))}";
            case "dup": return $"r {C(Files.Dup(I(w[2])))}";
            case "dup2": return $"r {C(Files.Dup2(I(w[2]), I(w[3])))}";
            case "pipe":
            {
                int r = Files.Pipe(out int rfd, out int wfd);
                return $"r {R(r)} {rfd} {wfd}";
            }
            case "mknod": return $"r {R(Files.Mknod(w[2], Convert.ToInt32(w[3], 16), (uint)I(w[4])))}";
            case "mount": return $"r {R(Files.Mount(w[2], w[3], w[4], w[5] == "1"))}";
            case "umount": return $"r {R(Files.Umount(w[2]))}";
            case "sync": return $"r {R(Files.Sync())}";
            case "statfs":
            {
                int r = Files.StatFs(w[2], out var s);
                return r != Err.Ok ? $"r {R(r)}" : $"r OK bsize={s.BlockSize} blocks={s.TotalBlocks} free={s.FreeBlocks} inodes={s.TotalInodes} ifree={s.FreeInodes}";
            }
            case "cat":
            {
                int fd = Files.Open(w[2], VfsCall.O_RDONLY);
                if (fd < 0) return $"r {R(fd)}";
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var b = new byte[VfsCall.MaxTransfer];
                long total = 0;
                int r;
                while ((r = Files.Read(fd, b)) > 0)
                {
                    sha.AppendData(b, 0, r);
                    total += r;
                }
                Files.Close(fd);
                return r < 0 ? $"r {C(r)}" : $"r {total} {Convert.ToHexString(sha.GetHashAndReset())}";
            }
            case "openmany":
            {
                int n = 0, r = 0;
                while (n < I(w[3]) && (r = Files.Open(w[2], VfsCall.O_RDONLY)) >= 0) n++;
                return $"r {n} {R(Math.Min(r, 0))}";
            }
            case "pwritehex": return $"r {C(Files.WriteAt(I(w[2]), L(w[3]), Convert.FromHexString(w[4])))}";
            case "raw":
            {
                int r = Bulkhead.Lib.Ds.DsClient.RetrieveLabel(VfsCall.Label, out int vfs);
                if (r != Err.Ok) return $"r {R(r)}";
                var m = Message.Of(VfsCall.Base + I(w[2]), new VfsRequest { Fd = I(w[3]), Grant = I(w[4]), Length = I(w[5]), Fd2 = I(w[6]), Grant2 = I(w[4]), Length2 = I(w[5]), Grant3 = I(w[4]), Length3 = I(w[5]) });
                r = IpcCall.SendRec(vfs, ref m);
                return $"r {C(r != Err.Ok ? r : m.Type)}";
            }
            default: return $"r EINVAL unknown vfs call {w[1]}";
        }
    }
}
