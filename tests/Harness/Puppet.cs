// Steering a test process through its stdin/stdout (a test-only side channel; everything the
// puppet does to the system goes through the kernel).
using System.Globalization;
using Bulkhead.Kernel;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Tests.Harness;

public sealed unsafe class Puppet : IDisposable
{
    private readonly StreamWriter _in;
    private readonly StreamReader _out;
    public int Endpoint { get; }
    public string Name { get; }

    private Puppet(string name, int endpoint, StreamWriter stdin, StreamReader stdout)
    {
        Name = name;
        Endpoint = endpoint;
        _in = stdin;
        _out = stdout;
    }

    public static Puppet Start(Bulkhead.Kernel.Kernel kernel, string name, PrivilegeBlock priv, string[]? args, bool puppetRole = true, int slot = -1,
                               int parent = Lib.Ipc.Endpoint.Kernel, JailView files = JailView.Bare)
    {
        var (inRead, inWrite) = Pipe();
        var (outRead, outWrite) = Pipe();
        int ep = kernel.Spawn(new ProcessSpec
        {
            Name = name,
            Path = TestSystem.TestProc,
            Args = puppetRole ? ["puppet", .. args ?? []] : args ?? [],
            Privileges = priv,
            Slot = slot,
            Parent = parent,
            StdinFd = inRead,
            StdoutFd = outWrite,
            Files = files,
        });
        Native.close(inRead);
        Native.close(outWrite);
        Assert.True(ep >= 0, $"spawn {name} failed: {ep}");
        var w = new StreamWriter(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(inWrite, true), FileAccess.Write)) { AutoFlush = true };
        var r = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(outRead, true), FileAccess.Read));
        return new Puppet(name, ep, w, r);
    }

    private static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Native.pipe2(fds, Native.O_CLOEXEC));
        return (fds[0], fds[1]);
    }

    /// <summary>Sends a command and waits for its one-line answer.</summary>
    public string Ask(string command, int timeoutMs = 20_000)
    {
        var t = AskAsync(command);
        Assert.True(t.Wait(timeoutMs), $"{Name}: no answer to '{command}' within {timeoutMs} ms");
        return t.Result;
    }

    /// <summary>Sends a command; the answer arrives when the puppet's call returns.</summary>
    public Task<string> AskAsync(string command)
    {
        try { _in.WriteLine(command); }
        catch (IOException) { }
        return ReadLineAsync();
    }

    /// <summary>The answer of a command started with AskAsync.</summary>
    public static string Await(Task<string> answer, int timeoutMs = 20_000)
    {
        Assert.True(answer.Wait(timeoutMs), $"no answer within {timeoutMs} ms");
        return answer.Result;
    }

    public Task<string> ReadLineAsync() => Task.Run(() => _out.ReadLine() ?? "<eof>");

    /// <summary>The result name of a "r RESULT ..." answer.</summary>
    public string Result(string command) => Field(Ask(command), 1);

    public static string Field(string answer, int i)
    {
        var w = answer.Split(' ');
        return i < w.Length ? w[i] : "";
    }

    public static long LongField(string answer, int i) => long.Parse(Field(answer, i), CultureInfo.InvariantCulture);

    public void Dispose()
    {
        try { _in.Dispose(); } catch (IOException) { }
        _out.Dispose();
    }
}
