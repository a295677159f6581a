// PM, the process manager (ARCHITECTURE.md §5): owns process creation and exit. RS asks it to
// start services (Start, with the privileges to install before the process runs); PM starts
// them with the SPAWN kernel call, so the kernel reports their exits to PM, and remembers the
// caller as the parent of record. On a NOTIFY from SYSTEM it collects every exit (GETKSIG),
// queues a report for the parent of record and NOTIFYs it; the parent takes reports with Wait.
// Reports carry the cause: exit status, or the signal for an exception or a kill.
// Boot processes marked `restart;` in boot.conf are PM's children from boot without a Start:
// they belong to RS, which adopts them (docs/rs.md), signals them through Kill and has them
// started again with StartBoot.
// PM is trusted and never blocks on anyone: it replies with SENDNB.
using System.Runtime.CompilerServices;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pm;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Pm;

public static class PmServer
{
    /// <summary>Largest start request (header + text + in-memory image).</summary>
    private const int MaxStartBytes = 64 << 20;
    private const int MaxChildren = 4096;
    private const int MaxArgs = 256;

    /// <summary>child endpoint → parent of record.</summary>
    private static readonly Dictionary<int, int> s_parent = [];
    /// <summary>parent → exit reports not yet collected (at most one per child).</summary>
    private static readonly Dictionary<int, Queue<ExitInfo>> s_exits = [];

    public static int Run(string[] args)
    {
        _ = args;
        // BoundGarbage: PM's garbage stays bounded (HeapBound, issue 9 §3).
        var loop = new ServerLoop { NonBlockingReplies = true, OnNotify = OnNotify, CountRefusals = true, BoundGarbage = true };
        loop.On(PmCall.Start, DoStart).On(PmCall.Kill, DoKill)
            .On(PmCall.Wait, DoWait).On(PmCall.StartBoot, DoStartBoot);
        SysCall.Diag("process manager up");
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    /// <summary>Only RS starts processes for now (user processes come with exec).</summary>
    private static bool MayStart(int caller) => caller == Endpoint.Rs;

    private static int DoStart(ref Message m)
    {
        int caller = m.Source;
        if (!MayStart(caller)) return Err.EPERM;
        var req = m.As<BufferRequest>();
        int headerSize = Unsafe.SizeOf<StartHeader>();
        if (req.Length < headerSize || req.Length > MaxStartBytes) return Err.EINVAL;
        if (s_parent.Count >= MaxChildren) return Err.EAGAIN;
        long buf = ArenaHeap.Allocate(req.Length);
        if (buf < 0) return Err.ENOMEM;
        try
        {
            int r = SysCall.SafeCopyFrom(caller, req.GrantId, 0, buf, req.Length);
            if (r != Err.Ok) return r;
            var ch = Channel.Current;
            var header = ch.At<StartHeader>(buf);
            if (header.TextLength < 0 || header.ImageLength < 0 || (long)headerSize + header.TextLength + header.ImageLength != req.Length)
                return Err.EINVAL;
            string text = Encoding.UTF8.GetString(ch.Arena.Slice((int)buf + headerSize, header.TextLength));
            string name = "", path = "";
            bool script = false;
            var argv = new List<string>();
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int sp = line.IndexOf(' ');
                string key = sp < 0 ? line : line[..sp], val = sp < 0 ? "" : line[(sp + 1)..];
                switch (key)
                {
                    case "name": name = val; break;
                    case "path": path = val; break;
                    case "script": path = val; script = true; break;
                    case "arg" when argv.Count < MaxArgs: argv.Add(val); break;
                    default: return Err.EINVAL;
                }
            }
            if (name.Length == 0 || (header.Flags & ~StartHeader.Held) != 0 || (script && header.Flags != 0)) return Err.EINVAL;
            bool held = header.Flags == StartHeader.Held;
            int ep;
            r = script ? SysCall.SpawnScript(name, path, argv, out ep)
                : header.ImageId != 0 ? SysCall.SpawnImage(name, header.ImageId, argv, header.Privileges, out ep, header.ArenaKiB, held)
                : header.ImageLength > 0
                ? SysCall.SpawnFromArena(name, buf + headerSize + header.TextLength, header.ImageLength, argv, header.Privileges, out ep, header.ArenaKiB, held)
                : SysCall.Spawn(name, path, default, argv, header.Privileges, out ep, header.ArenaKiB, held);
            if (r != Err.Ok) return r;
            s_parent[ep] = caller;
            m = Message.Of(0, new EndpointReply { Endpoint = ep });
            return Err.Ok;
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }

    private static int DoStartBoot(ref Message m)
    {
        int caller = m.Source;
        if (!MayStart(caller)) return Err.EPERM;
        if (s_parent.Count >= MaxChildren) return Err.EAGAIN;
        int r = SysCall.SpawnBoot(m.As<KillRequest>().Target, out int ep);
        if (r != Err.Ok) return r;
        s_parent[ep] = caller;
        m = Message.Of(0, new EndpointReply { Endpoint = ep });
        return Err.Ok;
    }

    /// <summary>The parent of record: the Start caller, or for a child PM did not start (a
    /// restartable boot process, whose kernel parent is PM) RS.</summary>
    private static int ParentOf(int child) => s_parent.TryGetValue(child, out int parent) ? parent : Endpoint.Rs;

    /// <summary>Is <paramref name="endpoint"/> a live process PM is the kernel parent of?</summary>
    private static bool IsChild(int endpoint)
    {
        if (s_parent.ContainsKey(endpoint)) return true;
        if (SysCall.ProcessTable(out var rows) != Err.Ok) return false;
        foreach (var p in rows)
            if (p.Endpoint == endpoint && p.State != ProcState.Zombie) return p.Parent == Endpoint.Pm;
        return false;
    }

    private static int DoKill(ref Message m)
    {
        var req = m.As<KillRequest>();
        if (!IsChild(req.Target)) return Err.ESRCH;
        if (ParentOf(req.Target) != m.Source) return Err.EPERM;
        m = default;
        return SysCall.Kill(req.Target, req.Signal);
    }

    private static int DoWait(ref Message m)
    {
        var info = s_exits.TryGetValue(m.Source, out var q) && q.TryDequeue(out var e) ? e : new ExitInfo { Endpoint = Endpoint.None };
        m = Message.Of(0, info);
        return Err.Ok;
    }

    private static void OnNotify(Message m)
    {
        if (m.Source != Endpoint.System) return;
        while (SysCall.GetKsig(out var exit) == Err.Ok && exit.Endpoint != Endpoint.None)
        {
            int parent = ParentOf(exit.Endpoint);
            s_parent.Remove(exit.Endpoint);
            if (!s_exits.TryGetValue(parent, out var q)) s_exits[parent] = q = new Queue<ExitInfo>();
            q.Enqueue(exit); // bounded: one report per child, children bounded by MaxChildren
            IpcCall.Notify(parent);
        }
    }
}
