// Client side of PM for RS (and later init): start a process, signal it, collect exits.
using System.Runtime.CompilerServices;
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Pm;

public static class PmClient
{
    /// <summary>Starts <paramref name="path"/> (or <paramref name="image"/>, when not empty, or
    /// kernel image object <paramref name="imageId"/>, when not 0) as <paramref name="name"/> with
    /// <paramref name="priv"/>; the caller becomes its parent of record. <paramref name="held"/>:
    /// the process runs no IPC until the caller releases it with SysCall.PrivCtlAllow.</summary>
    public static int Start(string name, string path, IReadOnlyList<string> args, in PrivilegeBlock priv, ReadOnlySpan<byte> image, out int endpoint,
                            int imageId = 0, bool held = false) => StartCore(name, "path", path, args, priv, image, out endpoint, imageId, held);

    /// <summary>Runs the recovery script <paramref name="script"/> with <paramref name="args"/>
    /// as a confined host program (/bin/sh, no IPC); the caller becomes its parent of record.</summary>
    public static int StartScript(string name, string script, IReadOnlyList<string> args, out int endpoint) =>
        StartCore(name, "script", script, args, default, default, out endpoint, 0, false);

    private static int StartCore(string name, string pathKey, string path, IReadOnlyList<string> args, in PrivilegeBlock priv,
                                 ReadOnlySpan<byte> image, out int endpoint, int imageId, bool held)
    {
        if (imageId != 0) image = default;
        endpoint = Endpoint.None;
        var text = new StringBuilder();
        text.Append("name ").Append(name).Append('\n');
        text.Append(pathKey).Append(' ').Append(path).Append('\n');
        foreach (var a in args) text.Append("arg ").Append(a).Append('\n');
        byte[] textBytes = Encoding.UTF8.GetBytes(text.ToString());
        int headerSize = Unsafe.SizeOf<StartHeader>();
        long total = headerSize + textBytes.Length + image.Length;
        if (total > int.MaxValue) return Err.E2BIG;
        int r = GrantedBuffer.Create(Endpoint.Pm, total, Grant.Read, out var created);
        if (r != Err.Ok) return r;
        using var buffer = created!;
        var ch = Channel.Current;
        long buf = buffer.Offset;
        ch.At<StartHeader>(buf) = new StartHeader { Privileges = priv, TextLength = textBytes.Length, ImageLength = image.Length, ImageId = imageId,
                                               Flags = held ? StartHeader.Held : 0 };
        textBytes.CopyTo(ch.Arena.Slice((int)(buf + headerSize), textBytes.Length));
        image.CopyTo(ch.Arena.Slice((int)(buf + headerSize + textBytes.Length), image.Length));
        var m = Message.Of(PmCall.Start, new BufferRequest { GrantId = buffer.Grant, Length = (int)total });
        r = IpcCall.SendRec(Endpoint.Pm, ref m);
        if (r != Err.Ok) return r;
        if (m.Type != Err.Ok) return m.Type;
        endpoint = m.As<EndpointReply>().Endpoint;
        return Err.Ok;
    }

    /// <summary>Starts the restartable boot process of <paramref name="slot"/> again (RS only);
    /// it gets its old endpoint back.</summary>
    public static int StartBoot(int slot, out int endpoint)
    {
        endpoint = Endpoint.None;
        var m = Message.Of(PmCall.StartBoot, new KillRequest { Target = slot });
        int r = IpcCall.SendRec(Endpoint.Pm, ref m);
        if (r != Err.Ok) return r;
        if (m.Type != Err.Ok) return m.Type;
        endpoint = m.As<EndpointReply>().Endpoint;
        return Err.Ok;
    }

    public static int Kill(int endpoint, int signal)
    {
        var m = Message.Of(PmCall.Kill, new KillRequest { Target = endpoint, Signal = signal });
        int r = IpcCall.SendRec(Endpoint.Pm, ref m);
        return r != Err.Ok ? r : m.Type;
    }

    /// <summary>One exit report of a child of record; info.Endpoint is NONE when there is none.</summary>
    public static int Wait(out ExitInfo info)
    {
        var m = new Message(PmCall.Wait);
        int r = IpcCall.SendRec(Endpoint.Pm, ref m);
        info = r == Err.Ok && m.Type == Err.Ok ? m.As<ExitInfo>() : new ExitInfo { Endpoint = Endpoint.None };
        return r != Err.Ok ? r : m.Type;
    }
}
