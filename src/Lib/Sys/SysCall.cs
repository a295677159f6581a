// Kernel-call stubs for components (MINIX's sys_* library). Each is a SENDREC to SYSTEM.
// Arguments bigger than a message go through a scratch area at the start of the caller's
// arena data region; the kernel checks every offset against the arena.
using System.Text;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

public static partial class SysCall
{
    /// <summary>Scratch region for kernel-call arguments: [ScratchStart, ScratchStart+ScratchSize).</summary>
    public const int ScratchStart = ChannelLayout.ArenaDataStart;
    public const int ScratchSize = 64 * 1024;
    /// <summary>First arena offset a component may use for its own buffers.</summary>
    public const int HeapStart = ScratchStart + ScratchSize;

    private static readonly object s_scratchLock = new();

    public static int Call(int call, ref Message m)
    {
        m.Type = KernelCall.Base + call;
        return IpcCall.SendRec(Endpoint.System, ref m);
    }

    public static int Diag(string text)
    {
        lock (s_scratchLock)
        {
            var ch = Channel.Current;
            int n = Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, SysCtlRequest.MaxDiagLength)), ch.Arena.Slice(ScratchStart, ScratchSize));
            var m = Message.Of(0, new SysCtlRequest { Op = SysCtlRequest.Diag, Length = Math.Min(n, SysCtlRequest.MaxDiagLength), Offset = ScratchStart });
            return Call(KernelCall.SysCtl, ref m);
        }
    }

    public static int Times(int target, out TimesReply reply)
    {
        var m = Message.Of(0, new TimesRequest { Target = target });
        int r = Call(KernelCall.Times, ref m);
        reply = r == Err.Ok ? m.As<TimesReply>() : default;
        return r;
    }

    public static int SetAlarm(long expiryNs, bool absolute, out long previousRemainingNs)
    {
        var m = Message.Of(0, new SetAlarmRequest { ExpiryNs = expiryNs, Absolute = absolute ? 1 : 0 });
        int r = Call(KernelCall.SetAlarm, ref m);
        previousRemainingNs = r == Err.Ok ? m.As<SetAlarmReply>().PreviousRemainingNs : 0;
        return r;
    }

    public static int Kill(int target, int signal)
    {
        var m = Message.Of(0, new KillRequest { Target = target, Signal = signal });
        return Call(KernelCall.Kill, ref m);
    }

    /// <summary>Collects one exit of a child of record. Endpoint NONE: nothing pending.</summary>
    public static int GetKsig(out ExitInfo info)
    {
        var m = new Message(0);
        int r = Call(KernelCall.GetKsig, ref m);
        info = r == Err.Ok ? m.As<ExitInfo>() : default;
        return r;
    }

    public static int PrivCtl(int target, in PrivilegeBlock priv)
    {
        lock (s_scratchLock)
        {
            Channel.Current.At<PrivilegeBlock>(ScratchStart) = priv;
            var m = Message.Of(0, new PrivCtlRequest { Target = target, PrivOffset = ScratchStart });
            return Call(KernelCall.PrivCtl, ref m);
        }
    }

    /// <summary>Releases <paramref name="target"/>, created held (SpawnRequest.Held): the kernel
    /// starts serving its traps (PRIVCTL Allow; its parent of record or RS).</summary>
    public static int PrivCtlAllow(int target)
    {
        var m = Message.Of(0, new PrivCtlRequest { Target = target, Op = PrivCtlRequest.Allow });
        return Call(KernelCall.PrivCtl, ref m);
    }

    /// <summary>Starts a process from a binary path, or from an in-memory image when
    /// <paramref name="image"/> is given, with <paramref name="priv"/> installed before it runs;
    /// <paramref name="held"/>: none of its traps is served until PrivCtlAllow.</summary>
    public static int Spawn(string name, string path, ReadOnlySpan<byte> image, IReadOnlyList<string> argv, in PrivilegeBlock priv, out int endpoint,
                            int arenaKiB = 0, bool held = false)
    {
        if (image.IsEmpty) return SpawnCore(name, path, -1, 0, argv, priv, out endpoint, arenaKiB, held);
        // The image goes through an arena heap block the kernel reads it from.
        endpoint = Endpoint.None;
        long buf = ArenaHeap.Allocate(image.Length);
        if (buf < 0) return Err.E2BIG;
        try
        {
            image.CopyTo(Channel.Current.Arena.Slice((int)buf, image.Length));
            return SpawnCore(name, "", buf, image.Length, argv, priv, out endpoint, arenaKiB, held);
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }

    /// <summary>Starts a process from an image that already lies in this process's arena at
    /// [<paramref name="imageOffset"/>, +<paramref name="imageLength"/>) (no copy).</summary>
    public static int SpawnFromArena(string name, long imageOffset, int imageLength, IReadOnlyList<string> argv, in PrivilegeBlock priv, out int endpoint,
                                     int arenaKiB = 0, bool held = false) =>
        SpawnCore(name, "", imageOffset, imageLength, argv, priv, out endpoint, arenaKiB, held);

    /// <summary>Starts the host program /bin/sh on the script at <paramref name="script"/> with
    /// <paramref name="argv"/> (SPAWN Script: a recovery script, no IPC, confined).</summary>
    public static int SpawnScript(string name, string script, IReadOnlyList<string> argv, out int endpoint) =>
        SpawnCore(name, script, -3, 0, argv, default, out endpoint, 0);

    /// <summary>Starts kernel image object <paramref name="imageId"/> (from ImageCreate).</summary>
    public static int SpawnImage(string name, int imageId, IReadOnlyList<string> argv, in PrivilegeBlock priv, out int endpoint,
                                 int arenaKiB = 0, bool held = false) =>
        SpawnCore(name, "", -2, imageId, argv, priv, out endpoint, arenaKiB, held);

    /// <summary>Starts restartable boot process <paramref name="slot"/> again, as boot.conf
    /// described it (SPAWN Boot; PM for RS). It gets its old endpoint back.</summary>
    public static int SpawnBoot(int slot, out int endpoint)
    {
        var m = Message.Of(0, new SpawnRequest { PathLength = slot, Flags = SpawnRequest.Boot });
        int r = Call(KernelCall.Spawn, ref m);
        endpoint = r == Err.Ok ? m.As<EndpointReply>().Endpoint : Endpoint.None;
        return r;
    }

    /// <summary>Keeps <paramref name="image"/> in the kernel as an executable image; its id for SpawnImage.</summary>
    public static int ImageCreate(string name, ReadOnlySpan<byte> image, out int id)
    {
        id = 0;
        if (image.IsEmpty) return Err.EINVAL;
        long buf = ArenaHeap.Allocate(image.Length);
        if (buf < 0) return Err.ENOMEM;
        try
        {
            image.CopyTo(Channel.Current.Arena.Slice((int)buf, image.Length));
            var m = Message.Of(0, new ImageRequest { Op = ImageRequest.Create, Offset = buf, Length = image.Length, Name = ProcessName.From(name) });
            int r = Call(KernelCall.Image, ref m);
            if (r == Err.Ok) id = m.As<ImageRequest>().Id;
            return r;
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }

    public static int ImageDelete(int id)
    {
        var m = Message.Of(0, new ImageRequest { Op = ImageRequest.Delete, Id = id });
        return Call(KernelCall.Image, ref m);
    }

    private static int SpawnCore(string name, string path, long imageOffset, int imageLength,
                                 IReadOnlyList<string> argv, in PrivilegeBlock priv, out int endpoint, int arenaKiB, bool held = false)
    {
        lock (s_scratchLock)
        {
            endpoint = Endpoint.None;
            var ch = Channel.Current;
            var scratch = ch.Arena.Slice(ScratchStart, ScratchSize);
            int pos = 0;
            ch.At<PrivilegeBlock>(ScratchStart) = priv;
            pos += System.Runtime.CompilerServices.Unsafe.SizeOf<PrivilegeBlock>();
            pos = (pos + 7) & ~7;
            int argvAt = pos;
            foreach (var a in argv)
            {
                int n = Encoding.UTF8.GetByteCount(a);
                if (pos + n + 1 > scratch.Length) return Err.E2BIG;
                pos += Encoding.UTF8.GetBytes(a, scratch[pos..]);
                scratch[pos++] = 0;
            }
            int argvLen = pos - argvAt;
            long pathAt;
            int pathLen;
            int flags = 0;
            if (imageOffset == -2)
            {
                pathAt = 0;
                pathLen = imageLength; // the image object's id
                flags = SpawnRequest.FromImage;
            }
            else if (imageOffset >= 0)
            {
                pathAt = imageOffset;
                pathLen = imageLength;
                flags = SpawnRequest.FromMemory;
            }
            else
            {
                int n = Encoding.UTF8.GetByteCount(path);
                if (pos + n > scratch.Length) return Err.E2BIG;
                pathAt = ScratchStart + pos;
                pathLen = Encoding.UTF8.GetBytes(path, scratch[pos..]);
                if (imageOffset == -3) flags = SpawnRequest.Script;
            }
            var m = Message.Of(0, new SpawnRequest
            {
                PathOffset = pathAt,
                PathLength = pathLen,
                Flags = held ? flags | SpawnRequest.Held : flags,
                ArgvOffset = ScratchStart + argvAt,
                ArgvLength = argvLen,
                ArenaKiB = arenaKiB,
                PrivOffset = ScratchStart,
                Name = ProcessName.From(name),
            });
            int r = Call(KernelCall.Spawn, ref m);
            if (r == Err.Ok) endpoint = m.As<EndpointReply>().Endpoint;
            return r;
        }
    }

    /// <summary>The kernel's process table (GETINFO ProcTab), one row per used slot.</summary>
    public static int ProcessTable(out ProcInfo[] rows)
    {
        rows = [];
        int r = GetInfo(GetInfoRequest.ProcTab, out var data, out var reply);
        if (r != Err.Ok) return r;
        rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ProcInfo>(
            data.AsSpan(0, reply.Entries * System.Runtime.CompilerServices.Unsafe.SizeOf<ProcInfo>())).ToArray();
        return Err.Ok;
    }

    /// <summary>Reads a GETINFO table into the scratch area and copies it out.</summary>
    public static int GetInfo(int what, out byte[] data, out GetInfoReply reply)
    {
        lock (s_scratchLock)
        {
            var m = Message.Of(0, new GetInfoRequest { What = what, Offset = ScratchStart, Length = ScratchSize });
            int r = Call(KernelCall.GetInfo, ref m);
            reply = r == Err.Ok ? m.As<GetInfoReply>() : default;
            data = r == Err.Ok ? Channel.Current.Arena.Slice(ScratchStart, reply.Bytes).ToArray() : [];
            return r;
        }
    }

    public static int WhoAmI(out GetInfoReply who)
    {
        var m = Message.Of(0, new GetInfoRequest { What = GetInfoRequest.WhoAmI });
        int r = Call(KernelCall.GetInfo, ref m);
        who = r == Err.Ok ? m.As<GetInfoReply>() : default;
        return r;
    }

    /// <summary>Registers the grant table at <paramref name="offset"/> with <paramref name="entries"/>
    /// entries (0 unregisters). Components normally use Grants.GrantTable.Current instead.</summary>
    public static int SetGrant(long offset, int entries)
    {
        var m = Message.Of(0, new SetGrantRequest { Offset = offset, Count = entries });
        return Call(KernelCall.SetGrant, ref m);
    }

    /// <summary>Copies <paramref name="length"/> bytes from <paramref name="grantOffset"/> inside
    /// grant <paramref name="grantId"/> of <paramref name="granter"/> to our arena at
    /// <paramref name="localOffset"/>. Needs READ on the grant.</summary>
    public static int SafeCopyFrom(int granter, int grantId, long grantOffset, long localOffset, long length) =>
        SafeCopy(KernelCall.SafeCopyFrom, granter, grantId, grantOffset, localOffset, length);

    /// <summary>Copies <paramref name="length"/> bytes from our arena at <paramref name="localOffset"/>
    /// into grant <paramref name="grantId"/> of <paramref name="granter"/> at <paramref name="grantOffset"/>.
    /// Needs WRITE on the grant.</summary>
    public static int SafeCopyTo(int granter, int grantId, long grantOffset, long localOffset, long length) =>
        SafeCopy(KernelCall.SafeCopyTo, granter, grantId, grantOffset, localOffset, length);

    private static int SafeCopy(int call, int granter, int grantId, long grantOffset, long localOffset, long length)
    {
        var m = Message.Of(0, new SafeCopyRequest
        {
            Granter = granter,
            GrantId = grantId,
            GrantOffset = grantOffset,
            LocalOffset = localOffset,
            Length = length,
        });
        return Call(call, ref m);
    }

    /// <summary>Performs up to VSafeCopyRequest.MaxCount copies in one kernel call, in order; stops at
    /// the first failure and returns its error. The vector goes through the scratch area.</summary>
    public static int VSafeCopy(ReadOnlySpan<VSafeCopyEntry> vector)
    {
        if (vector.Length > VSafeCopyRequest.MaxCount) return Err.EINVAL;
        lock (s_scratchLock)
        {
            var ch = Channel.Current;
            int size = System.Runtime.CompilerServices.Unsafe.SizeOf<VSafeCopyEntry>();
            for (int i = 0; i < vector.Length; i++) ch.At<VSafeCopyEntry>(ScratchStart + (long)i * size) = vector[i];
            return VSafeCopy(ScratchStart, vector.Length);
        }
    }

    /// <summary>VSAFECOPY of a vector the caller placed in its arena itself.</summary>
    public static int VSafeCopy(long vectorOffset, int count)
    {
        var m = Message.Of(0, new VSafeCopyRequest { VectorOffset = vectorOffset, Count = count });
        return Call(KernelCall.VSafeCopy, ref m);
    }
}
