// The network testbed of `swifi run` (thesis §5.1.2; docs/swifi.md): a NetInstance (bench
// netrecovery's: both cards on TAP interfaces whose Linux ends are in a network namespace, RS with
// no failure limit, drivers restarted without backoff) with the target's heartbeat period cut to
// 1 s, so a hung driver is caught within 2 s. The Linux end runs the workload's peers: a daytime
// server (socat) and python3's http.server with a file of seeded random bytes. The workload: a
// daytime request and a checksummed download through INET.
using System.Globalization;
using System.Text.RegularExpressions;
using Bulkhead.Host.Bench;

namespace Bulkhead.Host.Swifi;

internal sealed partial class SwifiNetTestbed : ISwifiTestbed
{
    private const int HttpPort = 8080, FileBytes = 64 << 10, WorkloadTimeoutS = 3;
    private readonly NetInstance _inst;
    private readonly NetInstance.Card _card;
    private readonly string _sha;

    public SwifiNetTestbed(string root, string image, string driver)
    {
        _inst = new NetInstance(root, image, l => l.StartsWith($"service up image:{driver} ", StringComparison.Ordinal) ? l + " -period 1" : l);
        try
        {
            _card = _inst.CardOf(driver);
            _inst.StartLinux(["socat", $"TCP-LISTEN:13,bind={_card.Linux},reuseaddr,fork", "SYSTEM:date"], drop: true);
            var (dir, _, sha) = _inst.RandomFile(FileBytes);
            _sha = sha;
            _inst.StartLinux(["python3", "-m", "http.server", HttpPort.ToString(CultureInfo.InvariantCulture), "--bind", _card.Linux], dir, drop: true);
            _inst.WaitUntil(() => Workload(0) is null, 60, "the workload to work before any fault");
        }
        catch
        {
            _inst.Dispose();
            throw;
        }
    }

    public string Label => _card.Label;
    public string Driver => _card.Driver;
    public string Socket => _inst.Socket;
    public string SystemLog => _inst.SystemLog;
    /// <summary>RS catches a hung driver within two heartbeat periods, INET's complaint comes within its answer deadline.</summary>
    public int CatchS => 3;

    public Dictionary<string, (int? Pid, int Restarts)> Services() => _inst.Services();
    public int WaitDriver(int? old) => _inst.WaitDriver(_card, old).Pid;
    public void WaitUntil(Func<bool> done, int seconds, string what) => _inst.WaitUntil(done, seconds, what);
    public void Observe(IReadOnlyList<string> lines) { }
    public Dictionary<string, long> Counters() => [];

    /// <summary>A daytime request: a new TCP connection through the new instance, both ways
    /// (ARP, the handshake, data, the close).</summary>
    public string? Probe(int trial)
    {
        var (status, text) = RunProgram(["daytime", "-T", WorkloadTimeoutS.ToString(CultureInfo.InvariantCulture), _card.Linux]);
        return status == 0 ? null : $"daytime: {text}";
    }

    /// <summary>null when a daytime request and the checksummed download both worked; else
    /// what failed. (Run side by side they took no less time: a spawn is CPU-bound here.)</summary>
    public string? Workload(int trial)
    {
        string timeout = WorkloadTimeoutS.ToString(CultureInfo.InvariantCulture);
        var (dayStatus, dayText) = RunProgram(["daytime", "-T", timeout, _card.Linux]);
        if (dayStatus != 0) return $"daytime: {dayText}";
        var (getStatus, getText) = RunProgram(["wget", "-q", "-T", timeout, $"http://{_card.Linux}:{HttpPort}/file.bin"]);
        if (getStatus != 0) return $"wget: {getText}";
        var m = WgetSha().Match(getText);
        if (!m.Success || m.Groups["bytes"].Value != FileBytes.ToString(CultureInfo.InvariantCulture) || m.Groups["sha"].Value != _sha)
            return $"wget: wrong data: {getText}";
        return null;
    }

    private (int Status, string Text) RunProgram(string[] args) => SwifiPrograms.Run(_inst.Run, args, WorkloadTimeoutS + 10);

    public void Dispose() => _inst.Dispose();

    [GeneratedRegex(@": (?<bytes>\d+) bytes in .*sha256 (?<sha>[0-9a-f]{64})")]
    private static partial Regex WgetSha();
}
