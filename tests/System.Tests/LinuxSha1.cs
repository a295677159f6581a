// Linux's sha1sum as the oracle for what Bulkhead's sha1sum prints: the bytes are written to a
// host file in the test's run directory and sha1sum (coreutils) reads it.
using System.Diagnostics;

namespace Bulkhead.System.Tests;

public static class LinuxSha1
{
    public static string Of(byte[] data, string dir)
    {
        string file = Path.Combine(dir, $"sha1-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(file, data);
        try
        {
            var psi = new ProcessStartInfo("sha1sum") { RedirectStandardOutput = true };
            psi.ArgumentList.Add(file);
            using var p = Process.Start(psi)!;
            string line = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(60_000) && p.ExitCode == 0, $"sha1sum: {line}");
            return line.Split(' ')[0];
        }
        finally
        {
            File.Delete(file);
        }
    }
}
