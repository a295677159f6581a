// Short ASCII strings in fixed-size, NUL-padded message fields (process names, crash texts).
// Writing replaces anything outside printable ASCII with '?' and truncates to leave a NUL.
namespace Bulkhead.Lib.Ipc;

public static class FixedText
{
    public static void Write(Span<byte> field, string s)
    {
        field.Clear();
        int len = Math.Min(s.Length, field.Length - 1);
        for (int i = 0; i < len; i++) field[i] = s[i] is >= ' ' and < (char)127 ? (byte)s[i] : (byte)'?';
    }

    public static string Read(ReadOnlySpan<byte> field)
    {
        int len = field.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(len < 0 ? field : field[..len]);
    }
}
