// The buffer cache: it never holds more than its limit, it writes nothing before Sync while
// everything fits (write-back), it reads ahead on sequential reads (fewer, larger device
// reads), and a device that fails its reads or writes gives EIO, never an exception.
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Cache;
using Bulkhead.Servers.Mfs.Device;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class CacheTests
{
    /// <summary>A device that counts calls and can be told to fail.</summary>
    private sealed class CountingDevice(MemoryBlockDevice inner) : IBlockDevice
    {
        public int Reads, Writes;
        public bool FailReads, FailWrites;
        public long Size => inner.Size;
        public bool Read(long offset, Span<byte> buffer)
        {
            Reads++;
            return !FailReads && inner.Read(offset, buffer);
        }
        public bool Write(long offset, ReadOnlySpan<byte> data)
        {
            Writes++;
            return !FailWrites && inner.Write(offset, data);
        }
        public bool Flush() => !FailWrites;
    }

    [Fact]
    public void Cache_LargeWorkload_NeverAboveLimit()
    {
        var e = Mount(NewDisk(16 << 20), new MfsOptions { CacheBlocks = 16 });
        var data = RandomBytes(1, 3 << 20);
        WriteFile(e, "/big", data);
        for (int i = 0; i < 100; i++) WriteFile(e, $"/f{i}", RandomBytes(i, 3000));
        Assert.Equal(Sha(data), Sha(ReadFile(e, "/big")));
        Assert.Equal(16, e.Cache.Stats.HighWater);
        Assert.True(e.Cache.Stats.Evictions > 1000);
        Ok(e.Sync());
    }

    [Fact]
    public void WriteBack_NothingWrittenBeforeSync()
    {
        var dev = new CountingDevice(NewDisk(4 << 20));
        var e = Mount(dev, new MfsOptions { CacheBlocks = 256 });
        WriteFile(e, "/a", RandomBytes(1, 50_000));
        Mkdir(e, "/d");
        Assert.Equal(0, dev.Writes);
        int dirty = e.Cache.DirtyCount;
        Assert.True(dirty > 50);
        Ok(e.Sync());
        // The file's ~49 contiguous blocks go in one write, not one write each.
        Assert.InRange(dev.Writes, 1, dirty / 4);
        Assert.Equal(0, e.Cache.DirtyCount);
        var again = Mount(dev);
        Assert.Equal(RandomBytes(1, 50_000), ReadFile(again, "/a"));
    }

    [Fact]
    public void ReadAhead_SequentialRead_FewerDeviceReads()
    {
        var disk = NewDisk(8 << 20);
        var w = Mount(disk);
        var data = RandomBytes(3, 1 << 20);
        WriteFile(w, "/f", data);
        Ok(w.Sync());

        int ReadsFor(int readAhead)
        {
            var dev = new CountingDevice(disk);
            var e = Mount(dev, new MfsOptions { CacheBlocks = 64, ReadAheadBlocks = readAhead, ReadOnly = true });
            uint ino = Ino(e, "/f");
            var buf = new byte[1024];
            int before = dev.Reads;
            var back = new byte[data.Length];
            for (int at = 0; at < data.Length; at += buf.Length)
            {
                Ok(e.Read(ino, at, buf, out int n));
                buf.AsSpan(0, n).CopyTo(back.AsSpan(at));
            }
            Assert.Equal(Sha(data), Sha(back));
            if (readAhead > 0) Assert.True(e.Cache.Stats.ReadAheadBlocks > 900);
            return dev.Reads - before;
        }
        int without = ReadsFor(0), with = ReadsFor(16);
        Assert.True(with * 4 < without, $"device reads: {with} with read-ahead, {without} without");
    }

    [Fact]
    public void FailingDevice_EIO_NotException()
    {
        var dev = new CountingDevice(NewDisk(4 << 20));
        var e = Mount(dev, new MfsOptions { CacheBlocks = 8 });
        uint f = WriteFile(e, "/f", RandomBytes(1, 100_000));
        Ok(e.Sync());
        dev.FailReads = true;
        Assert.Equal(MfsError.EIO, e.Read(f, 0, new byte[100_000], out _)); // 8 cached blocks cannot hold the file
        Assert.Equal(MfsError.EIO, MfsEngine.TryMount(dev, null, out _, out string reason));
        Assert.Contains("superblock", reason);
        dev.FailReads = false;
        dev.FailWrites = true;
        WriteFile(e, "/h", RandomBytes(2, 20_000)); // fits in memory; the device fails on write-back
        Assert.Equal(MfsError.EIO, e.Sync());
        Assert.True(e.Cache.Stats.WriteErrors > 0);
    }

    [Fact]
    public void BufferCache_CapacityBelowMinimum_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BufferCache(new MemoryBlockDevice(1 << 20), 1024, 2));
        Assert.Equal(MfsError.EINVAL, MfsEngine.TryMount(NewDisk(1 << 20), new MfsOptions { CacheBlocks = 2 }, out _, out _));
    }
}
