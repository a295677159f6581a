// What `service up` asks of RS, in the thesis's terms (Fig. 2.4): the binary, its arguments,
// a stable label, the heartbeat period, the recovery script, whether to keep an in-memory copy
// of the binary (-mirror), and the isolation policy (file and driver name). It travels as
// text, one "key value" pair per line, so that the protocol grows without new structs.
using System.Globalization;
using System.Text;

namespace Bulkhead.Lib.Rs;

public sealed class ServiceSpec
{
    public const int MaxBytes = 8192;

    public string Label { get; set; } = "";
    public string Binary { get; set; } = "";
    /// <summary>Arguments after argv[0], space separated (no quoting).</summary>
    public string Args { get; set; } = "";
    /// <summary>Heartbeat period in ms; 0 = RS's default (5 s, thesis Fig. 2.4); NoHeartbeats = none.</summary>
    public int PeriodMs { get; set; }
    /// <summary>PeriodMs for "no heartbeats" (`-period 0`); travels as "period 0".</summary>
    public const int NoHeartbeats = -1;
    public string Recovery { get; set; } = "";
    public bool Mirror { get; set; }
    /// <summary>Policy file (drivers.conf syntax); empty = RS's default policy file.</summary>
    public string Isolation { get; set; } = "";
    /// <summary>Policy entry to use; empty = the label.</summary>
    public string Policy { get; set; } = "";
    /// <summary>Device node name (-dev), informational for now.</summary>
    public string Dev { get; set; } = "";
    /// <summary>Restart without backoff (MINIX -b).</summary>
    public bool NoBackoff { get; set; }

    public string Format()
    {
        var sb = new StringBuilder();
        void Put(string k, string v) { if (v.Length > 0) sb.Append(k).Append(' ').Append(v.Replace('\n', ' ')).Append('\n'); }
        Put("label", Label);
        Put("binary", Binary);
        Put("args", Args);
        Put("period", PeriodMs > 0 ? PeriodMs.ToString(CultureInfo.InvariantCulture) : PeriodMs == NoHeartbeats ? "0" : "");
        Put("recovery", Recovery);
        Put("mirror", Mirror ? "1" : "");
        Put("isolation", Isolation);
        Put("policy", Policy);
        Put("dev", Dev);
        Put("nobackoff", NoBackoff ? "1" : "");
        return sb.ToString();
    }

    /// <summary>Parses the text form; false with a reason for anything malformed.</summary>
    public static bool TryParse(string text, out ServiceSpec spec, out string error)
    {
        spec = new ServiceSpec();
        error = "";
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0) continue;
            int sp = raw.IndexOf(' ');
            string key = sp < 0 ? raw : raw[..sp];
            string val = sp < 0 ? "" : raw[(sp + 1)..];
            switch (key)
            {
                case "label": spec.Label = val; break;
                case "binary": spec.Binary = val; break;
                case "args": spec.Args = val; break;
                case "recovery": spec.Recovery = val; break;
                case "isolation": spec.Isolation = val; break;
                case "policy": spec.Policy = val; break;
                case "dev": spec.Dev = val; break;
                case "mirror": spec.Mirror = val == "1"; break;
                case "nobackoff": spec.NoBackoff = val == "1"; break;
                case "period":
                    if (!int.TryParse(val, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p < 0 || p > 3_600_000)
                    {
                        error = $"bad period '{val}'";
                        return false;
                    }
                    spec.PeriodMs = p == 0 ? NoHeartbeats : p;
                    break;
                default:
                    error = $"unknown key '{key}'";
                    return false;
            }
        }
        if (!IsLabel(spec.Label))
        {
            error = $"bad label '{spec.Label}' (1..15 characters of [A-Za-z0-9_.-])";
            return false;
        }
        return true;
    }

    public static bool IsLabel(string s) =>
        s.Length is >= 1 and <= 15 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}
