// The components of a bulkhead-image binary, as that binary lists them. Run with no arguments
// it prints its dispatch table's names — `usage: bulkhead-image init|echo|…|service [args...]`
// (src/Image/Program.cs) — and exits 2; nothing else runs outside a kernel. Asking the very
// binary the instance will start (the NativeAOT image or the JIT one, RunDirectory.ImageDir)
// keeps one list, the dispatch table, and catches an image built without a component.
// The benchmark components (bench-*, started by the benchmarks, never by boot.conf) are not
// in that line and so not in this list.
using Bulkhead.Kernel.Main.Control;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Host;
using Microsoft.Win32.SafeHandles;

namespace Bulkhead.Kernel.Main.Boot;

internal static unsafe class ImageComponents
{
    private const string UsagePrefix = "usage: ";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The names <paramref name="image"/> dispatches, in its order; null with
    /// <paramref name="error"/> when it cannot be run or does not print its usage line.</summary>
    public static IReadOnlyList<string>? TryList(string image, out string error)
    {
        if (!File.Exists(image))
        {
            error = $"{image} does not exist";
            return null;
        }
        string? text = Run(image, out error);
        if (text is null) return null;
        if (Parse(text, Path.GetFileName(image)) is { Count: > 0 } names)
        {
            error = "";
            return names;
        }
        error = $"{image} printed no component list (expected '{UsagePrefix}{Path.GetFileName(image)} NAME|NAME|… [args...]', got '{text.Trim()}')";
        return null;
    }

    /// <summary>The names of the first line "usage: BINARY a|b|c …" of <paramref name="text"/>.</summary>
    public static List<string>? Parse(string text, string binary)
    {
        string head = UsagePrefix + binary + " ";
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(head, StringComparison.Ordinal)) continue;
            string list = line[head.Length..].Split(' ', 2)[0];
            var names = list.Split('|');
            return names.All(n => n.Length > 0) ? [.. names] : null;
        }
        return null;
    }

    /// <summary>Runs <paramref name="image"/> without arguments; its stdout and stderr.</summary>
    private static string? Run(string image, out string error)
    {
        int* fds = stackalloc int[2];
        if (Native.pipe2(fds, Native.O_CLOEXEC) != 0)
        {
            error = $"cannot create a pipe (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})";
            return null;
        }
        int readFd = fds[0], pid;
        using (var write = new SafeFileHandle(fds[1], ownsHandle: true))
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
        {
            pid = HostSpawn.Spawn(image, [image], (int)devNull.DangerousGetHandle(), (int)write.DangerousGetHandle(), newSession: false);
        }
        if (pid < 0)
        {
            Native.close(readFd);
            error = $"cannot run {image} (errno {-pid})";
            return null;
        }
        var output = Task.Run(() => ServiceRunner.Drain(readFd)); // EOF once the image exits
        bool done = output.Wait(Timeout);
        if (!done) Native.kill(pid, Native.SIGKILL);
        HostSpawn.Reap(pid, wait: true);
        if (!done)
        {
            error = $"{image} did not exit within {Timeout.TotalSeconds:F0} s";
            return null;
        }
        error = "";
        return output.Result;
    }
}
