// A configuration file carried in a service's arguments. Services run in the bare file view
// (docs/confinement.md) and cannot open etc/ themselves, so whoever starts them with the host
// view — init running etc/rc, `./bulkhead service` on the host — reads the file and passes it as
// one argument word "config=NAME:BASE64": RS splits arguments on blanks and keeps them for every
// restart, and base64 has no blank, line break or ';' (the separator of rs-spec test commands).
// The text keeps its line breaks, so a service reports mistakes as "NAME:LINE: reason".
// Rules: at most MaxBytes of text (ServiceSpec.MaxBytes bounds the whole argument string);
// decoding checks the prefix, the name and the base64 before anything is used.
using System.Text;

namespace Bulkhead.Lib.Config;

public static class ConfigArgument
{
    public const string Prefix = "config=";
    /// <summary>Largest file carried (its base64 is 4/3 of this, within ServiceSpec.MaxBytes).</summary>
    public const int MaxBytes = 4096;

    /// <summary>The argument word for <paramref name="text"/> read from a file called <paramref name="name"/>.</summary>
    public static bool TryEncode(string name, string text, out string word, out string error)
    {
        word = "";
        error = "";
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxBytes) { error = $"{name}: {bytes} bytes, more than the {MaxBytes} a configuration argument carries"; return false; }
        if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || c is ':' or ';')) { error = $"bad configuration name '{name}'"; return false; }
        word = Prefix + name + ":" + Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        return true;
    }

    /// <summary>Finds the configuration word among <paramref name="args"/> and decodes it.</summary>
    public static bool TryDecode(IEnumerable<string> args, out string name, out string text, out string error)
    {
        name = text = error = "";
        string? word = args.FirstOrDefault(a => a.StartsWith(Prefix, StringComparison.Ordinal));
        if (word is null) { error = $"no {Prefix}NAME:BASE64 argument (the service command's -config FILE makes one)"; return false; }
        int colon = word.IndexOf(':', Prefix.Length);
        if (colon <= Prefix.Length) { error = $"malformed {Prefix} argument (no NAME:)"; return false; }
        name = word[Prefix.Length..colon];
        string data = word[(colon + 1)..];
        if (data.Length > (MaxBytes + 2) / 3 * 4) { error = $"{name}: configuration argument longer than {MaxBytes} bytes"; return false; }
        var bytes = new byte[data.Length];
        if (!Convert.TryFromBase64String(data, bytes, out int n)) { error = $"{name}: configuration argument is not base64"; return false; }
        try { text = new UTF8Encoding(false, true).GetString(bytes, 0, n); }
        catch (DecoderFallbackException) { error = $"{name}: configuration is not UTF-8"; return false; }
        return true;
    }
}
