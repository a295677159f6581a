// badblk: a block driver that misbehaves once, for the block-client tests. It serves minor 0,
// a disk of size=BYTES (default 8 MiB) whose contents start as BlockPattern seed 1 (so every
// instance holds the same data and a restart loses nothing a test reads), and answers the
// block-driver protocol correctly — except the first instance started under its label, which
// at its after=N-th Read (default 3) does what fault= says:
//   garbage  an answer naming another request type;     wrongid  an answer with another Id;
//   count    more bytes than asked;                     request  a message with a request type;
//   silent   no answer at all (the request is dropped);  ok       nothing wrong.
// A later instance (drv.blk.<label> already in DS when it starts) behaves. Each fault is logged.
// It answers with SENDNB, and with SENDA when the client is not receiving at that instant.
using System.Globalization;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static class BadBlockDriver
{
    private const int Sector = 512;
    private const int Chunk = 64 * 1024;

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        var kv = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        string fault = kv.GetValueOrDefault("fault", "ok");
        int after = int.Parse(kv.GetValueOrDefault("after", "3"), CultureInfo.InvariantCulture);
        long size = long.Parse(kv.GetValueOrDefault("size", (8 << 20).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        if (DsClient.RetrieveLabelByEndpoint(IpcCall.Self, out string label) != Err.Ok) label = "badblk";
        bool replacement = DsClient.RetrieveU32("drv.blk." + label, out _) == Err.Ok;
        if (replacement) fault = "ok";
        var disk = new byte[size];
        for (long at = 0; at < size; at += Chunk) BlockPattern.Fill(disk.AsSpan((int)at, (int)Math.Min(Chunk, size - at)), at, 1);
        long staging = ArenaHeap.Allocate(Chunk);
        if (staging < 0) return 1;
        DsClient.PublishU32("drv.blk." + label, 1, DsFlags.Overwrite);
        SysCall.Diag($"badblk: up, {size} bytes, fault {fault} at read {after}{(replacement ? " (replacement: behaves)" : "")}");
        ServiceRuntime.InitDone();
        bool open = false;
        int reads = 0;
        while (true)
        {
            if (IpcCall.Receive(Endpoint.Any, out var m) != Err.Ok) return 1;
            if (IpcCall.IsNotify(m))
            {
                if (m.Source == Endpoint.Rs) ServiceRuntime.Alive();
                continue;
            }
            int client = m.Source;
            var req = m.As<BlockRequest>();
            var reply = new BlockReply { Request = m.Type, Id = req.Id, Minor = req.Minor };
            int result = Err.Ok;
            switch (m.Type)
            {
                case BlockDriverCall.Open when req.Minor == 0:
                    open = true;
                    (reply.Size, reply.SectorSize) = (size, Sector);
                    break;
                case BlockDriverCall.Ioctl when req.Minor == 0 && req.Ioctl == BlockDriverCall.IoctlGeometry:
                    (reply.Size, reply.SectorSize) = (size, Sector);
                    result = open ? Err.Ok : Err.EBADF;
                    break;
                case BlockDriverCall.Close or BlockDriverCall.Flush:
                    result = open ? Err.Ok : Err.EBADF;
                    break;
                case BlockDriverCall.Read or BlockDriverCall.Write:
                    result = !open ? Err.EBADF : Transfer(client, m.Type == BlockDriverCall.Write, req, disk, staging, out reply.Count);
                    if (m.Type == BlockDriverCall.Read && ++reads == after && fault != "ok")
                    {
                        SysCall.Diag($"badblk: fault {fault} at read {reads} (id {req.Id})");
                        switch (fault)
                        {
                            case "silent": continue;
                            case "garbage": reply.Request = BlockDriverCall.Write; break;
                            case "wrongid": reply.Id = req.Id + 7; break;
                            case "count": reply.Count = req.Count + Sector; break;
                            case "request": result = BlockDriverCall.Read; break;
                        }
                    }
                    break;
                default:
                    result = Err.ENOSYS;
                    break;
            }
            var answer = Message.Of(result, reply);
            var copy = answer;
            if (IpcCall.SendNb(client, ref copy) == Err.ENOTREADY) AsyncSender.Send(client, answer);
        }
    }

    private static int Transfer(int client, bool write, in BlockRequest req, byte[] disk, long staging, out int count)
    {
        count = 0;
        if (req.Position < 0 || req.Count <= 0 || req.Position % Sector != 0 || req.Count % Sector != 0) return Err.EINVAL;
        long n = Math.Clamp(disk.Length - req.Position, 0, req.Count);
        var buffer = Channel.Current.Arena.Slice((int)staging, Chunk);
        for (long done = 0; done < n; done += Chunk)
        {
            int piece = (int)Math.Min(Chunk, n - done);
            var at = disk.AsSpan((int)(req.Position + done), piece);
            int r;
            if (write)
            {
                r = SysCall.SafeCopyFrom(client, req.GrantId, done, staging, piece);
                if (r == Err.Ok) buffer[..piece].CopyTo(at);
            }
            else
            {
                at.CopyTo(buffer);
                r = SysCall.SafeCopyTo(client, req.GrantId, done, staging, piece);
            }
            if (r != Err.Ok) return r;
        }
        count = (int)n;
        return Err.Ok;
    }
}
