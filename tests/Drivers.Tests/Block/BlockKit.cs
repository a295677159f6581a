// Shared pieces of the block-driver tests: the fields of the puppet's `blk` answers
// (tests/Components/BlockRequests.cs), the data a seeded write sends, and its SHA-256; the
// position-keyed disk pattern of the block-client tests (tests/Components/BlockPattern.cs).
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

/// <summary>One `blk` answer: "r IPC RESULT REQUEST ID COUNT SIZE BASE SECTOR PARTITIONS FLAGS [SHA256 [HEX]]".</summary>
public sealed record BlkAnswer(string Text)
{
    private string F(int i) => Puppet.Field(Text, i);
    private long N(int i) => long.Parse(F(i), CultureInfo.InvariantCulture);

    public string Ipc => F(1);
    public string Result => F(2);
    public int Request => (int)N(3);
    public int Id => (int)N(4);
    public long Count => N(5);
    public long Size => N(6);
    public long Base => N(7);
    public int SectorSize => (int)N(8);
    public int Partitions => (int)N(9);
    public int Flags => (int)N(10);
    public string Sha => F(11);
    public string Hex => F(12);

    /// <summary>Delivered and answered with <paramref name="result"/>.</summary>
    public BlkAnswer Is(string result)
    {
        Assert.True(Ipc == "OK" && Result == result, $"expected {result}: {Text}");
        return this;
    }

    public override string ToString() => Text;
}

public static class BlockKit
{
    public static BlkAnswer Blk(this Puppet p, string command) => new(p.Ask("blk " + command, 60_000));

    /// <summary>The bytes `blk write ... LENGTH SEED` sends.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    /// <summary>The bytes BlockPattern (tests/Components) puts at [position, +length) for <paramref name="seed"/>.</summary>
    public static byte[] DiskPattern(long position, int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            long p = position + i;
            ulong x = (ulong)(p >> 3) * 0x9E3779B97F4A7C15UL + (ulong)(uint)seed * 0xD1B54A32D192ED03UL;
            x ^= x >> 29;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 32;
            b[i] = (byte)(x >> (int)((p & 7) * 8));
        }
        return b;
    }

    /// <summary>SHA-1 of the disk pattern over [position, +length), computed in 1 MiB pieces.</summary>
    public static string PatternSha1(long position, long length, int seed)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        for (long done = 0; done < length; done += 1 << 20)
            sha.AppendData(DiskPattern(position + done, (int)Math.Min(1 << 20, length - done), seed));
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
