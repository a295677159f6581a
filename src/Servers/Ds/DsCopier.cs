// Moves keys and values between DS and its callers through their memory grants (SAFECOPYFROM /
// SAFECOPYTO into one scratch buffer in DS's arena). Everything read is untrusted: lengths are
// checked before any copy and key bytes must be printable ASCII; a failed copy returns the
// kernel's error (EPERM for a bad grant, EINVAL for a bad grantor) and changes nothing.
using System.Text;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Ds;

internal sealed class DsCopier
{
    private readonly long _scratch;

    public DsCopier()
    {
        _scratch = ArenaHeap.Allocate(DsLimits.MaxMemLength);
        if (_scratch < 0) throw new InvalidOperationException("ds: no arena space for the copy buffer");
    }

    private static Span<byte> Arena(long at, int length) => Channel.Current.Arena.Slice((int)at, length);

    /// <summary>Reads a key (or label) of MinKeyLength..MaxKeyLength printable non-space ASCII bytes.</summary>
    public int ReadKey(int from, int grant, int length, out string key) =>
        ReadText(from, grant, length, DsLimits.MinKeyLength, DsLimits.MaxKeyLength, allowSpace: false, out key);

    /// <summary>Reads a subscription regex of 1..MaxRegexLength printable ASCII bytes.</summary>
    public int ReadRegex(int from, int grant, int length, out string regex) =>
        ReadText(from, grant, length, 1, DsLimits.MaxRegexLength, allowSpace: true, out regex);

    private int ReadText(int from, int grant, int length, int min, int max, bool allowSpace, out string text)
    {
        text = "";
        if (length < min || length > max) return Err.EINVAL;
        int r = SysCall.SafeCopyFrom(from, grant, 0, _scratch, length);
        if (r != Err.Ok) return r;
        var bytes = Arena(_scratch, length);
        foreach (byte b in bytes)
            if (b > 0x7E || b < (allowSpace ? 0x20 : 0x21)) return Err.EINVAL;
        text = Encoding.ASCII.GetString(bytes);
        return Err.Ok;
    }

    /// <summary>Reads a MEM value of 0..MaxMemLength bytes.</summary>
    public int ReadBytes(int from, int grant, int length, out byte[] data)
    {
        data = [];
        if (length < 0 || length > DsLimits.MaxMemLength) return Err.EINVAL;
        if (length == 0) return Err.Ok;
        int r = SysCall.SafeCopyFrom(from, grant, 0, _scratch, length);
        if (r != Err.Ok) return r;
        data = Arena(_scratch, length).ToArray();
        return Err.Ok;
    }

    /// <summary>Writes <paramref name="data"/> to the start of a grant the caller made WRITE.</summary>
    public int Write(int to, int grant, ReadOnlySpan<byte> data)
    {
        if (data.Length > DsLimits.MaxMemLength) return Err.EINVAL;
        if (data.IsEmpty) return Err.Ok;
        data.CopyTo(Arena(_scratch, data.Length));
        return SysCall.SafeCopyTo(to, grant, 0, _scratch, data.Length);
    }
}
