// A Linux network namespace a test makes for the Linux end of a link (root only; TapFact skips
// otherwise): Adopt moves an interface (a TAP a Bulkhead instance opened) into it and brings it
// up; Exec runs a Linux program there to its end, Serve starts a Linux server there in the
// background (its output read and dropped), Start gives the raw process. Dispose deletes the
// namespace (and with it every interface inside).
using System.Diagnostics;

namespace Bulkhead.Tests.Harness;

public sealed class NetNamespace : IDisposable
{
    private static int s_seq;

    public string Name { get; }

    private NetNamespace(string name) => Name = name;

    public static NetNamespace Create()
    {
        string name = $"bh-test-{Environment.ProcessId}-n{Interlocked.Increment(ref s_seq)}";
        Ip(["netns", "add", name]);
        return new NetNamespace(name);
    }

    /// <summary>Moves interface <paramref name="ifname"/> into the namespace, gives it <paramref name="cidr"/> and brings it up.</summary>
    public void Adopt(string ifname, string? cidr = null)
    {
        Ip(["link", "set", ifname, "netns", Name]);
        if (cidr is not null) Ip(["netns", "exec", Name, "ip", "addr", "add", cidr, "dev", ifname]);
        Ip(["netns", "exec", Name, "ip", "link", "set", ifname, "up"]);
    }

    public void AddAddress(string ifname, string cidr) => Ip(["netns", "exec", Name, "ip", "addr", "add", cidr, "dev", ifname]);

    /// <summary>Starts <paramref name="command"/> inside the namespace (stdin, stdout and stderr redirected).</summary>
    public Process Start(string[] command, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (string a in new[] { "netns", "exec", Name }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Starts a Linux server inside the namespace whose output is read and dropped.</summary>
    public Process Serve(string[] command, string? workingDirectory = null)
    {
        var p = Start(command, workingDirectory);
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs <paramref name="command"/> inside the namespace to its end: exit code, stdout, stderr.</summary>
    public (int Code, string Stdout, string Stderr) Exec(string[] command, int timeoutMs = 60_000, byte[]? stdin = null)
    {
        using var p = Start(command);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException(string.Join(' ', command) + " in " + Name); }
        return (p.ExitCode, output.Result, err.Result);
    }

    /// <summary>Runs python3 <paramref name="script"/> with <paramref name="args"/> inside the
    /// namespace; returns its standard output (fails the test on a non-zero exit or a timeout).</summary>
    public string Python(string script, string[] args, int timeoutMs = 60_000)
    {
        var (code, stdout, stderr) = Exec(["python3", "-c", script, .. args], timeoutMs);
        Assert.True(code == 0, $"python3 exited {code}: {stderr}");
        return stdout;
    }

    public void Dispose() => Ip(["netns", "del", Name], check: false);

    public static void Ip(string[] args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException("ip " + string.Join(' ', args)); }
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}");
    }
}
