// A program-like driver for TCP tests: writes a seeded pseudo-random stream of N bytes into a
// socket as fast as it takes them, reads everything from the other end, and hashes both sides
// (SHA-256), so a transfer is checked byte-exact however it was cut up, lost or reordered.
using System.Security.Cryptography;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;

namespace Bulkhead.Servers.Tests.Inet;

internal sealed class TcpPump(TcpSocket from, TcpSocket to, long total, int seed, bool closeWhenDone = true)
{
    private readonly Random _source = new(seed);
    private readonly IncrementalHash _sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _chunk = new byte[16384];
    private readonly byte[] _read = new byte[65536];
    private int _chunkOffset, _chunkLength;
    private bool _closed;

    public long Written { get; private set; }
    public long Read { get; private set; }
    public bool Eof { get; private set; }
    public NetError Error { get; private set; }

    /// <summary>Moves what it can; true when every byte was read (and EOF seen if closing).</summary>
    public bool Step()
    {
        while (Written < total)
        {
            if (_chunkOffset == _chunkLength)
            {
                _chunkLength = (int)Math.Min(_chunk.Length, total - Written);
                _source.NextBytes(_chunk.AsSpan(0, _chunkLength));
                _sent.AppendData(_chunk.AsSpan(0, _chunkLength));
                _chunkOffset = 0;
            }
            int n = from.Send(_chunk.AsSpan(_chunkOffset, _chunkLength - _chunkOffset));
            if (n < 0)
            {
                if (NetResult.ErrorOf(n) != NetError.WouldBlock) Error = NetResult.ErrorOf(n);
                break;
            }
            _chunkOffset += n;
            Written += n;
        }
        if (Written == total && closeWhenDone && !_closed)
        {
            from.Shutdown();
            _closed = true;
        }
        while (true)
        {
            int n = to.Receive(_read);
            if (n > 0)
            {
                _received.AppendData(_read.AsSpan(0, n));
                Read += n;
                continue;
            }
            if (n == 0 && closeWhenDone) Eof = true;
            else if (n < 0 && NetResult.ErrorOf(n) != NetError.WouldBlock) Error = NetResult.ErrorOf(n);
            break;
        }
        return Read == total && (!closeWhenDone || Eof);
    }

    public bool HashesMatch() => _sent.GetCurrentHash().AsSpan().SequenceEqual(_received.GetCurrentHash());
}
