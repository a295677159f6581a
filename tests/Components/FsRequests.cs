// The puppet's file-server requests (`fs <ep> <call> [key=value]...`), playing VFS towards an MFS
// server (src/Lib/Fs/FsCall.cs): each builds the request with the grant it needs, sends it with
// SENDREC and prints the answer as one line "r <ipc result> <result> <fields...>".
// Keys: ino, ino2, pos, uid, gid, mode (octal), rdev, owner, group, atime, mtime, count
// (PutNode's Length), flags (Mount); the grant: text=BYTES (%XX escapes, e.g. old%00new; a read
// grant), data=LENGTH:SEED (System.Random(seed) bytes in a read grant), buf=LENGTH (a write
// grant); len= and grant= override the request's Length and grant id (bad-input tests).
// Read, Write, ReadLink and GetDents answer their count as the result (a number, 0 included).
// Fields answered: node replies "ino mode(octal) size nlinks uid gid rdev"; Read "sha256 [hex if
// ≤ 64 bytes]"; Write "size"; GetDents "next ino:name,..."; ReadLink "text"; Stat "ino mode nlinks uid gid rdev size atime mtime ctime blocksize blocks"; StatFs
// "blocksize namemax total free inodes freeinodes".
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.TestComponents;

internal static class FsRequests
{
    private static readonly Dictionary<string, int> Calls = new()
    {
        ["mount"] = FsCall.Mount, ["unmount"] = FsCall.Unmount, ["lookup"] = FsCall.Lookup, ["create"] = FsCall.Create,
        ["mkdir"] = FsCall.Mkdir, ["symlink"] = FsCall.Symlink, ["unlink"] = FsCall.Unlink, ["rmdir"] = FsCall.Rmdir,
        ["link"] = FsCall.Link, ["rename"] = FsCall.Rename, ["readlink"] = FsCall.ReadLink, ["read"] = FsCall.Read,
        ["write"] = FsCall.Write, ["truncate"] = FsCall.Truncate, ["getdents"] = FsCall.GetDents, ["stat"] = FsCall.Stat,
        ["chmod"] = FsCall.Chmod, ["chown"] = FsCall.Chown, ["utime"] = FsCall.Utime, ["putnode"] = FsCall.PutNode,
        ["sync"] = FsCall.Sync, ["statfs"] = FsCall.StatFs,
    };

    private static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>%XX-escaped text to bytes.</summary>
    private static byte[] Unescape(string s)
    {
        var b = new List<byte>();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length)
            {
                b.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                b.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
            }
        }
        return [.. b];
    }

    public static string Do(string[] w)
    {
        int dst = (int)L(w[1]);
        if (!Calls.TryGetValue(w[2], out int type)) return "x unknown fs call " + w[2];
        var kv = w.Skip(3).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a.Length > 1 ? a[1] : "");
        long N(string k, long dflt = 0) => kv.TryGetValue(k, out var v) ? L(v) : dflt;

        byte[]? content = null;
        int length = 0, access = 0;
        if (kv.TryGetValue("text", out var text)) (content, access) = (Unescape(text), Grant.Read);
        else if (kv.TryGetValue("data", out var data))
        {
            var p = data.Split(':');
            content = new byte[(int)L(p[0])];
            new Random((int)L(p[1])).NextBytes(content);
            access = Grant.Read;
        }
        else if (kv.TryGetValue("buf", out var buf)) (content, access) = (new byte[(int)L(buf)], Grant.Write);
        length = content?.Length ?? 0;

        var ch = Channel.Current;
        long at = -1;
        int grant = 0;
        try
        {
            if (content is not null)
            {
                at = ArenaHeap.Allocate(Math.Max(length, 1));
                if (at < 0) return "x no memory";
                var span = ch.Arena.Slice((int)at, Math.Max(length, 1));
                span.Clear();
                if (access == Grant.Read) content.CopyTo(span);
                grant = GrantTable.Current.Direct(dst, at, Math.Max(length, 1), access);
            }
            Message m;
            if (type == FsCall.Mount)
            {
                m = Message.Of(type, new FsMountRequest { Grant = (int)N("grant", grant), Length = (int)N("len", length), Flags = (int)N("flags") });
            }
            else
            {
                m = Message.Of(type, new FsRequest
                {
                    Ino = (uint)N("ino"), Ino2 = (uint)N("ino2"), Grant = (int)N("grant", grant),
                    Length = (int)N("len", type == FsCall.PutNode ? N("count", 1) : length),
                    Position = N("pos"), Uid = (int)N("uid"), Gid = (int)N("gid"),
                    Mode = kv.TryGetValue("mode", out var mode) ? Convert.ToInt32(mode, 8) : 0,
                    Rdev = (uint)N("rdev"), Owner = (int)N("owner"), Group = (int)N("group"),
                    Atime = (uint)N("atime"), Mtime = (uint)N("mtime"),
                });
            }
            int r = IpcCall.SendRec(dst, ref m);
            bool counts = type is FsCall.Read or FsCall.Write or FsCall.ReadLink or FsCall.GetDents;
            string head = $"r {Err.Name(r)} {(counts && r == Err.Ok && m.Type >= 0 ? m.Type.ToString(CultureInfo.InvariantCulture) : Err.Name(m.Type))}";
            if (r != Err.Ok || m.Type < 0) return head;
            byte[] got = access == Grant.Write ? ch.Arena.Slice((int)at, length).ToArray() : [];
            return head + " " + Fields(type, m, got);
        }
        finally
        {
            if (grant > 0) GrantTable.Current.Revoke(grant);
            if (at >= 0) ArenaHeap.Free(at);
        }
    }

    private static string Fields(int type, Message m, byte[] got)
    {
        switch (type)
        {
            case FsCall.Mount or FsCall.Lookup or FsCall.Create or FsCall.Mkdir or FsCall.Symlink:
                {
                    var n = m.As<FsNodeReply>();
                    return $"{n.Ino} {Convert.ToString(n.Mode, 8)} {n.Size} {n.Nlinks} {n.Uid} {n.Gid} {n.Rdev}";
                }
            case FsCall.Read:
                {
                    int c = Math.Clamp(m.Type, 0, got.Length);
                    var d = got.AsSpan(0, c);
                    return $"{Convert.ToHexString(SHA256.HashData(d))}{(c <= 64 ? " " + Convert.ToHexString(d) : "")}";
                }
            case FsCall.Write:
                return $"{m.As<FsIoReply>().Size}";
            case FsCall.ReadLink:
                return Encoding.UTF8.GetString(got, 0, Math.Clamp(m.Type, 0, got.Length));
            case FsCall.GetDents:
                {
                    var io = m.As<FsIoReply>();
                    var names = new List<string>();
                    int at = 0, end = Math.Clamp(m.Type, 0, got.Length);
                    while (at + FsDirent.HeaderSize <= end)
                    {
                        var h = MemoryMarshal.Read<FsDirent>(got.AsSpan(at));
                        if (h.RecordLength < FsDirent.HeaderSize || at + h.RecordLength > end) return $"x bad record at {at}";
                        names.Add($"{h.Ino}:{Encoding.UTF8.GetString(got, at + FsDirent.HeaderSize, h.NameLength)}");
                        at += h.RecordLength;
                    }
                    return $"{io.Position} {string.Join(',', names)}";
                }
            case FsCall.Stat:
                {
                    var s = m.As<FsStatReply>();
                    return $"{s.Ino} {Convert.ToString(s.Mode, 8)} {s.Nlinks} {s.Uid} {s.Gid} {s.Rdev} {s.Size} {s.Atime} {s.Mtime} {s.Ctime} {s.BlockSize} {s.Blocks}";
                }
            case FsCall.StatFs:
                {
                    var s = m.As<FsStatFsReply>();
                    return $"{s.BlockSize} {s.NameMax} {s.TotalBlocks} {s.FreeBlocks} {s.TotalInodes} {s.FreeInodes}";
                }
            default:
                return "";
        }
    }
}
