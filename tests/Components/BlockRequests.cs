// The puppet's block-driver requests (`blk ...`): each builds a BlockDriverCall request with the
// grants it needs, sends it (SENDREC, or SENDA for `asend`), and prints the answer as one line:
//   "r <ipc result> <result> <request> <id> <count> <sha256 of the bytes read or written> ..."
// Data written is generated from a seed (System.Random(seed).NextBytes, the test computes the
// same bytes), so large transfers need no hex on the command line; data read is summarized by
// its SHA-256 (of the Count bytes moved).
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.TestComponents;

internal static class BlockRequests
{
    private static int s_id = 1000;

    private static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Answer(int r, in Message m, string tail = "")
    {
        var rep = m.As<BlockReply>();
        return $"r {Err.Name(r)} {Err.Name(m.Type)} {rep.Request} {rep.Id} {rep.Count} {rep.Size} {rep.Base} {rep.SectorSize} {rep.Partitions} {rep.Flags}{tail}";
    }

    private static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    public static string Do(string[] w)
    {
        int dst = (int)L(w[2]);
        switch (w[1])
        {
            case "open": // open <ep> <minor> <access>
                return Simple(dst, BlockDriverCall.Open, new BlockRequest { Minor = (int)L(w[3]), Access = (int)L(w[4]) });
            case "close": // close <ep> <minor>
                return Simple(dst, BlockDriverCall.Close, new BlockRequest { Minor = (int)L(w[3]) });
            case "ioctl": // ioctl <ep> <minor> <code> <argument>
                return Simple(dst, BlockDriverCall.Ioctl, new BlockRequest { Minor = (int)L(w[3]), Ioctl = (int)L(w[4]), Argument = L(w[5]) });
            case "flush": // flush <ep> <minor>
                return Simple(dst, BlockDriverCall.Flush, new BlockRequest { Minor = (int)L(w[3]) });
            case "req": // req <ep> <type> <minor> <grant> <count> <position>: a raw request, any field
                return Simple(dst, (int)L(w[3]), new BlockRequest { Minor = (int)L(w[4]), GrantId = (int)L(w[5]), Count = (int)L(w[6]), Position = L(w[7]) });
            case "write": // write <ep> <minor> <position> <length> <seed> → ... <sha256 of the data>
            case "read": // read <ep> <minor> <position> <length> → ... <sha256 of the bytes read> [hex if ≤ 64 bytes]
                return Transfer(dst, w[1] == "write", (int)L(w[3]), L(w[4]), [(int)L(w[5])], w[1] == "write" ? (int)L(w[6]) : 0, vectored: false);
            case "scatter": // scatter <ep> <minor> <position> <len,len,...> <seed>
            case "gather": // gather <ep> <minor> <position> <len,len,...>
                return Transfer(dst, w[1] == "scatter", (int)L(w[3]), L(w[4]), w[5].Split(',').Select(s => (int)L(s)).ToArray(),
                                w[1] == "scatter" ? (int)L(w[6]) : 0, vectored: true);
            case "vector": // vector <ep> <minor> <position> <entries> <grant>: a Gather whose vector holds <entries> entries naming <grant>
                return BadVector(dst, (int)L(w[3]), L(w[4]), (int)L(w[5]), (int)L(w[6]));
            case "asend": // asend <ep> <minor> <position> <length> <n>: n Reads sent with SENDA, then their n answers
                return Async(dst, (int)L(w[3]), L(w[4]), (int)L(w[5]), (int)L(w[6]));
            default:
                return "x unknown blk " + w[1];
        }
    }

    private static string Simple(int dst, int type, BlockRequest req)
    {
        req.Id = ++s_id;
        var m = Message.Of(type, req);
        int r = IpcCall.SendRec(dst, ref m);
        return Answer(r, m);
    }

    private static string Transfer(int dst, bool write, int minor, long position, int[] lengths, int seed, bool vectored)
    {
        var ch = Channel.Current;
        int total = lengths.Sum();
        byte[] data = write ? Pattern(total, seed) : new byte[total];
        var bufs = new long[lengths.Length];
        var grants = new int[lengths.Length];
        var offsets = new int[lengths.Length];
        long vector = -1;
        int vectorGrant = -1;
        try
        {
            int at = 0;
            for (int i = 0; i < lengths.Length; i++)
            {
                offsets[i] = vectored ? 3 * i : 0; // vector entries start at odd offsets in their grants
                int size = Math.Max(lengths[i] + offsets[i], 1);
                bufs[i] = ArenaHeap.Allocate(size);
                if (bufs[i] < 0) return "x no memory";
                var span = ch.Arena.Slice((int)bufs[i], size);
                span.Clear();
                if (write) data.AsSpan(at, lengths[i]).CopyTo(span[offsets[i]..]);
                grants[i] = GrantTable.Current.Direct(dst, bufs[i], size, write ? Grant.Read : Grant.Write);
                at += lengths[i];
            }
            var req = new BlockRequest { Id = ++s_id, Minor = minor, Position = position };
            int type;
            if (vectored)
            {
                vector = ArenaHeap.Allocate((long)lengths.Length * BlockIoVector.Size);
                for (int i = 0; i < lengths.Length; i++)
                    ch.At<BlockIoVector>(vector + (long)i * BlockIoVector.Size) = new BlockIoVector { GrantId = grants[i], Offset = offsets[i], Length = lengths[i] };
                vectorGrant = GrantTable.Current.Direct(dst, vector, (long)lengths.Length * BlockIoVector.Size, Grant.Read);
                (req.GrantId, req.Count) = (vectorGrant, lengths.Length);
                type = write ? BlockDriverCall.Scatter : BlockDriverCall.Gather;
            }
            else
            {
                (req.GrantId, req.Count) = (grants[0], lengths[0]);
                type = write ? BlockDriverCall.Write : BlockDriverCall.Read;
            }
            var m = Message.Of(type, req);
            int r = IpcCall.SendRec(dst, ref m);
            int count = Math.Clamp(m.As<BlockReply>().Count, 0, total);
            if (!write)
            {
                int got = 0;
                for (int i = 0; i < lengths.Length; i++)
                {
                    ch.Arena.Slice((int)bufs[i] + offsets[i], lengths[i]).CopyTo(data.AsSpan(got));
                    got += lengths[i];
                }
            }
            var moved = data.AsSpan(0, write ? total : count);
            string hex = !write && count <= 64 ? " " + Convert.ToHexString(moved) : "";
            return Answer(r, m, " " + Hash(moved) + hex);
        }
        finally
        {
            for (int i = 0; i < lengths.Length; i++)
            {
                if (grants[i] > 0) GrantTable.Current.Revoke(grants[i]);
                if (bufs[i] > 0) ArenaHeap.Free(bufs[i]);
            }
            if (vectorGrant > 0) GrantTable.Current.Revoke(vectorGrant);
            if (vector > 0) ArenaHeap.Free(vector);
        }
    }

    private static string BadVector(int dst, int minor, long position, int entries, int grant)
    {
        var ch = Channel.Current;
        long vector = ArenaHeap.Allocate((long)Math.Max(entries, 1) * BlockIoVector.Size);
        for (int i = 0; i < entries; i++)
            ch.At<BlockIoVector>(vector + (long)i * BlockIoVector.Size) = new BlockIoVector { GrantId = grant, Offset = 0, Length = 512 };
        int vg = GrantTable.Current.Direct(dst, vector, (long)Math.Max(entries, 1) * BlockIoVector.Size, Grant.Read);
        try
        {
            return Simple(dst, BlockDriverCall.Gather, new BlockRequest { Minor = minor, Position = position, GrantId = vg, Count = entries });
        }
        finally
        {
            GrantTable.Current.Revoke(vg);
            ArenaHeap.Free(vector);
        }
    }

    private static string Async(int dst, int minor, long position, int length, int n)
    {
        var ch = Channel.Current;
        var bufs = new long[n];
        var grants = new int[n];
        var ids = new int[n];
        for (int i = 0; i < n; i++)
        {
            bufs[i] = ArenaHeap.Allocate(length);
            grants[i] = GrantTable.Current.Direct(dst, bufs[i], length, Grant.Write);
            ids[i] = ++s_id;
            var m = Message.Of(BlockDriverCall.Read, new BlockRequest { Id = ids[i], Minor = minor, GrantId = grants[i], Count = length, Position = position + (long)i * length });
            int r = AsyncSender.Send(dst, m);
            if (r != Err.Ok) return "r " + Err.Name(r);
        }
        var answers = new List<string>();
        for (int i = 0; i < n; i++)
        {
            int r = IpcCall.Receive(dst, out var m);
            var rep = m.As<BlockReply>();
            int k = Array.IndexOf(ids, rep.Id);
            string hash = k >= 0 && r == Err.Ok && m.Type == Err.Ok ? Hash(ch.Arena.Slice((int)bufs[k], Math.Clamp(rep.Count, 0, length))) : "-";
            answers.Add($"{Err.Name(r)}:{Err.Name(m.Type)}:{rep.Request}:{k}:{rep.Count}:{hash}");
        }
        for (int i = 0; i < n; i++)
        {
            GrantTable.Current.Revoke(grants[i]);
            ArenaHeap.Free(bufs[i]);
        }
        return "r OK " + string.Join(' ', answers);
    }
}
