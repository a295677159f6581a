// The host tool's messages name the real cause (issue 9, §3): a control request over the
// control socket's size limit says so and gives the limit (not "no Bulkhead instance
// running"), on the client and on the server side; a full kernel process table is reported as
// a full table (not as a problem with the binary); `log --restarts` gives its TIME column a
// unit; `ps` heads RS's state of a service SVC_STATE, apart from the kernel's STATE.
using System.Net.Sockets;
using System.Text;
using Bulkhead.Host.Commands;
using Bulkhead.Kernel.Main.Control;
using Bulkhead.Lib.Control;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;

namespace Bulkhead.System.Tests;

public sealed class HostMessageTests : IDisposable
{
    private const string TooLarge = "the control socket takes at most 16384 bytes per request";

    private readonly string _run = Path.Combine(Path.GetTempPath(), $"bulkhead-test-msg-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public HostMessageTests() => Directory.CreateDirectory(_run);

    public void Dispose()
    {
        if (File.Exists(Path.Combine(_run, "control.sock"))) Host("shutdown");
        try { Directory.Delete(_run, recursive: true); }
        catch (IOException) { }
    }

    private (int Status, string Output) Host(params string[] args) => HostTool.Run(_run, args);

    /// <summary>Boots (detached) an instance whose only process, an echo server, holds the one
    /// slot the kernel hands out: `procs 8` leaves slots 0..6 to fixed boot servers.</summary>
    private void BootFullTable()
    {
        string conf = Path.Combine(_run, "full.conf");
        File.WriteAllText(conf, "system { procs 8; };\nprocess sink { program image echo; ipc calls RECEIVE SEND SENDNB; };\n");
        var (status, output) = Host("boot", "--detach", "--config", conf);
        Assert.True(status == 0, output);
    }

    [Fact]
    public void Ask_RequestOverTheLimit_IsNotSent_AndSaysWhy()
    {
        string request = "service \"up\" \"" + new string('x', 20_000) + "\"";
        int bytes = Encoding.UTF8.GetByteCount(request) + 1;
        Assert.Equal($"error: request too large ({bytes} bytes): {TooLarge}\n",
                     ControlClient.Ask(Path.Combine(_run, "no-such.sock"), request));
        string fits = new('x', ControlProtocol.MaxRequestBytes - 1);
        Assert.Null(ControlClient.Ask(Path.Combine(_run, "no-such.sock"), fits)); // sent: nobody there
    }

    [Fact]
    public void Server_RequestLineOverTheLimit_AnswersTooLarge_AndNeverHandlesIt()
    {
        string path = Path.Combine(_run, "t.sock");
        var handled = new List<string>();
        using var server = new ControlServer(path, req =>
        {
            lock (handled) handled.Add(req);
            return "ok\n";
        });
        string Send(string text)
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(path));
            using var stream = new NetworkStream(s);
            s.Send(Encoding.UTF8.GetBytes(text));
            s.Shutdown(SocketShutdown.Send); // a line without '\n' ends here
            return new StreamReader(stream).ReadToEnd();
        }
        Assert.Equal($"error: request too large: {TooLarge}\n", Send(new string('x', 20_000) + "\n"));
        Assert.Equal($"error: request too large: {TooLarge}\n", Send(new string('x', ControlProtocol.MaxRequestBytes)));
        Assert.Equal("ok\n", Send(new string('y', ControlProtocol.MaxRequestBytes - 1) + "\n"));
        lock (handled) Assert.Equal([new string('y', ControlProtocol.MaxRequestBytes - 1)], handled);
    }

    [Fact]
    public void Service_ArgsOverTheLimit_SayRequestTooLarge_NotNoInstance()
    {
        BootFullTable();
        var (status, output) = Host("service", "up", "image:testdrv", "-args", new string('a', 20_000));
        Assert.Equal(1, status);
        Assert.StartsWith("service: request too large (", output);
        Assert.EndsWith($" bytes): {TooLarge}\n", output);
        Assert.DoesNotContain("no Bulkhead instance", output);
    }

    [Fact]
    public void Service_ProcessTableFull_SaysTheTableIsFull_NotTheBinary()
    {
        BootFullTable();
        var (status, output) = Host("service", "list");
        Assert.Equal(1, status);
        Assert.Equal("service: cannot start the service component: the kernel's process table is full (no free slot for a new " +
                     "process among its 8; 'procs' in boot.conf's system section sets the size)\n", output);
        var (up, upOutput) = Host("service", "up", "image:testdrv");
        Assert.Equal((1, output), (up, upOutput));
    }

    [Fact]
    public void RestartLog_TimeColumn_HasItsUnit()
    {
        string table = RestartLog.Format(["[    12.500] rs: restart label=eth0 incarnation=7 cause=no-heartbeat backoff_ms=4000 failed_at=8400 restarted_at=12500 endpoint=16401"]);
        var header = table.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["TIME_S", "LABEL", "INCARNATION", "CAUSE", "BACKOFF_MS", "FAILED_AT_MS", "RESTARTED_AT_MS", "ENDPOINT"], header);
        Assert.Equal("12.500", table.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]);
    }

    [Fact]
    public void Ps_ServiceStateColumn_IsSvcState_ApartFromTheKernelsState()
    {
        var eth0 = new ProcInfo { Slot = 16, Endpoint = 16400, State = ProcState.Receiving, BlockedOn = Lib.Ipc.Endpoint.Any, HostPid = 42, Name = Lib.Ipc.ProcessName.From("eth0") };
        var services = new Dictionary<string, string[]>
        {
            ["eth0"] = ["eth0", "16400", "running", "2", "terminated", "3"],
            ["eth1"] = ["eth1", "-", "restarting", "1", "exception", "2"],
        };
        var lines = Reports.ProcessTable([eth0], services).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("SERVICE", header);
        Assert.Single(header, h => h == "STATE");
        int svc = Array.IndexOf(header, "SVC_STATE");
        Assert.Equal(header.Length - 3, svc);
        var rows = lines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToDictionary(f => f[2]);
        Assert.Equal(("Receiving(ANY)", "running", "2", "terminated"),
                     (rows["eth0"][Array.IndexOf(header, "STATE")], rows["eth0"][svc], rows["eth0"][svc + 1], rows["eth0"][svc + 2]));
        Assert.Equal(("-", "restarting"), (rows["eth1"][Array.IndexOf(header, "STATE")], rows["eth1"][svc]));
    }
}
