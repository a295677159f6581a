// The shared part of every network driver: the request loop (ServerLoop) over the DL-style
// protocol of Bulkhead.Lib.Net.NetDriverCall, the posted receive buffers, the counters, and the
// copies through grants. A device plugs in through INetDevice: Init (probe, start, hook the
// IRQ), SetMode, Send (one frame already in the driver's own memory), OnInterrupt (service the
// card; received frames are handed to Deliver, which copies them to the oldest posted buffer, or
// keeps them in the receive queue — NetDriverCall.RxQueueFrames frames, preallocated — until the
// next Read, so that frames arriving between two reads are not lost; beyond it they are dropped
// and counted).
// Rules: every request field is checked before any state changes; client buffers are only
// reached through their grants (SAFECOPYFROM/SAFECOPYTO); posted reads are bounded
// (MaxReaders, one per client); every reply names its request and grant (NetDriverCall.RequestOf);
// a Read answered from the queue and the deferred Read reply go out with SENDA (AsyncSender): a
// driver must never block on a client, and the answer must not be lost when the client is not
// receiving at that instant (it may have posted the read with SEND and be busy writing).
// RS and DS are optional: reports to them that fail are ignored. A device that reports a port
// error (PortError) has lost its card: the driver says why and panics, and RS restarts it.
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Net;

/// <summary>The callback table a network device provides.</summary>
public interface INetDevice
{
    /// <summary>Probes, resets and starts the card and registers its interrupt. Returns an Err code.</summary>
    int Init(NetDriver driver);

    /// <summary>The station address (valid after Init).</summary>
    byte[] Mac { get; }

    bool LinkUp { get; }

    /// <summary>Applies NetDriverCall.Mode* bits (already checked).</summary>
    int SetMode(int mode);

    /// <summary>Sends one frame (14..1514 bytes, already checked). Returns an Err code.</summary>
    int Send(ReadOnlySpan<byte> frame);

    /// <summary>Services the card after a HARDWARE notification and re-enables the interrupt.</summary>
    void OnInterrupt(ulong hooks);

    /// <summary>The port error that cost the driver its card (OK while there is none). The kernel
    /// refusing a port the driver used before means its world changed under it: NetDriver then
    /// panics, so that RS restarts it and the new instance starts over with the card.</summary>
    int PortError { get; }
}

public sealed class NetDriver
{
    public const int MaxReaders = 16;

    private readonly INetDevice _device;
    private readonly Dictionary<int, NetBufferRequest> _posted = [];
    private readonly Queue<int> _order = new();
    private readonly byte[][] _queue = new byte[NetDriverCall.RxQueueFrames][];
    private readonly int[] _queueLength = new int[NetDriverCall.RxQueueFrames];
    private int _queueHead, _queueCount;
    private long _txBuffer = -1, _rxBuffer = -1;
    private int _mode = NetDriverCall.ModeBroadcast;
    private int _fault = NetDriverCall.FaultNone;

    public NetDriver(INetDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        for (int i = 0; i < _queue.Length; i++) _queue[i] = new byte[NetDriverCall.MaxFrame];
    }

    /// <summary>The counters; devices add their errors here.</summary>
    public NetStats Stats;

    /// <summary>True when a client has a receive buffer posted.</summary>
    public bool HasReader => _order.Count > 0;

    /// <summary>True when Deliver will take a frame (a reader, or room in the receive queue); a
    /// device that must do work to fetch a frame (remote DMA) fetches it only then.</summary>
    public bool CanTake => HasReader || _queueCount < _queue.Length;

    /// <summary>Frames waiting in the receive queue for a Read.</summary>
    public int Queued => _queueCount;

    /// <summary>Starts the device and serves requests; returns the process exit status.</summary>
    public int Run(string label)
    {
        ServiceRuntime.Start();
        _txBuffer = ArenaHeap.Allocate(NetDriverCall.MaxFrame);
        _rxBuffer = ArenaHeap.Allocate(NetDriverCall.MaxFrame);
        if (_txBuffer < 0 || _rxBuffer < 0)
        {
            SysCall.Diag($"{label}: no memory for frame buffers");
            return 1;
        }
        int r = _device.Init(this);
        if (r != Err.Ok)
        {
            SysCall.Diag($"{label}: initialization failed: {Err.Name(r)}");
            return 1;
        }
        _device.SetMode(_mode);
        // Optional: DS may be absent (a driver started on its own); failures do not matter.
        r = DsClient.PublishU32("drv.net." + label, 1, DsFlags.Overwrite);
        if (r != Err.Ok && r != Err.EDEADSRCDST) SysCall.Diag($"{label}: cannot announce drv.net.{label}: {Err.Name(r)}");
        ServiceRuntime.InitDone();

        var loop = new ServerLoop
        {
            OnNotify = m =>
            {
                if (m.Source == Endpoint.Hardware) _device.OnInterrupt(m.As<NotifyPayload>().Interrupts);
                CheckCard();
            },
        };
        loop.On(NetDriverCall.Conf, DoConf).On(NetDriverCall.Write, DoWrite)
            .On(NetDriverCall.Read, DoRead).On(NetDriverCall.GetStat, DoGetStat).On(NetDriverCall.Fault, DoFault);
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    private int DoConf(ref Message m)
    {
        int mode = m.As<NetConfRequest>().Mode;
        m = Message.Of(0, new NetConfReply { Request = NetDriverCall.Conf });
        if ((mode & ~NetDriverCall.ModeMask) != 0) return Err.EINVAL;
        if (mode != 0)
        {
            int r = _device.SetMode(mode);
            if (r != Err.Ok) return r;
            _mode = mode;
        }
        m = Message.Of(0, new NetConfReply { Request = NetDriverCall.Conf, Mac = NetConfReply.PackMac(_device.Mac), Link = _device.LinkUp ? 1 : 0, Mode = _mode });
        return Err.Ok;
    }

    private int DoWrite(ref Message m)
    {
        var req = m.As<NetBufferRequest>();
        int source = m.Source;
        m = Message.Of(0, new NetWriteReply { Request = NetDriverCall.Write, GrantId = req.GrantId });
        if (_fault == NetDriverCall.FaultSilent) return Err.EDONTREPLY;
        if (_fault == NetDriverCall.FaultWrongRequest)
            m = Message.Of(0, new NetWriteReply { Request = NetDriverCall.Read, GrantId = req.GrantId + 1 });
        if (req.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame) return Err.EINVAL;
        int r = SysCall.SafeCopyFrom(source, req.GrantId, 0, _txBuffer, req.Length);
        if (r != Err.Ok) return r;
        r = _device.Send(Channel.Current.Arena.Slice((int)_txBuffer, req.Length));
        CheckCard();
        if (r == Err.Ok) Stats.Sent++;
        else Stats.TxErrors++;
        return r;
    }

    private int DoRead(ref Message m)
    {
        var req = m.As<NetBufferRequest>();
        int source = m.Source;
        m = Message.Of(0, new NetReadReply { Request = NetDriverCall.Read, GrantId = req.GrantId });
        if (req.Length is <= 0 or > NetDriverCall.MaxFrame) return Err.EINVAL;
        if (_posted.ContainsKey(source)) return Err.EBUSY;
        if (_posted.Count >= MaxReaders) return Err.ENOSPC;
        if (_fault == NetDriverCall.FaultSilent) return Err.EDONTREPLY;
        if (_fault == NetDriverCall.FaultReadErrors) return Err.EIO;
        if (_queueCount > 0)
        {
            // A frame waited for this Read: answer now (SENDA, as a deferred answer would go),
            // and keep the frame for the next reader if the client's grant was bad.
            var frame = _queue[_queueHead].AsSpan(0, _queueLength[_queueHead]);
            if (Answer(source, req, frame) == Err.Ok)
            {
                _queueHead = (_queueHead + 1) % _queue.Length;
                _queueCount--;
            }
            return Err.EDONTREPLY;
        }
        _posted[source] = req;
        _order.Enqueue(source);
        return Err.EDONTREPLY;
    }

    private int DoFault(ref Message m)
    {
        int mode = m.As<NetFaultRequest>().Mode;
        m = default;
        if (mode is < NetDriverCall.FaultNone or > NetDriverCall.FaultReadErrors) return Err.EINVAL;
        _fault = mode;
        SysCall.Diag($"fault injected: mode {mode} (NetDriverCall.Fault)");
        return Err.Ok;
    }

    private int DoGetStat(ref Message m)
    {
        m = Message.Of(0, Stats);
        return Err.Ok;
    }

    private void CheckCard()
    {
        if (_device.PortError == Err.Ok) return;
        string why = $"lost the card: port access refused ({Err.Name(_device.PortError)})";
        SysCall.Diag(why);
        ServiceRuntime.Panic(why);
    }

    /// <summary>Counts a received frame that nobody could take.</summary>
    public void Drop() => Stats.Dropped++;

    /// <summary>Hands a received frame (without FCS) to the oldest posted buffer, else to the
    /// receive queue, else drops it.</summary>
    public void Deliver(ReadOnlySpan<byte> frame)
    {
        while (_order.TryDequeue(out int client))
        {
            if (!_posted.Remove(client, out var req)) continue;
            if (Answer(client, req, frame) == Err.Ok) return;
            // The client's grant was bad: it got the error; try the next reader.
        }
        if (_queueCount == _queue.Length || frame.Length > NetDriverCall.MaxFrame)
        {
            Stats.Dropped++;
            return;
        }
        int tail = (_queueHead + _queueCount) % _queue.Length;
        frame.CopyTo(_queue[tail]);
        _queueLength[tail] = frame.Length;
        _queueCount++;
    }

    /// <summary>Copies <paramref name="frame"/> into the buffer <paramref name="client"/> posted and
    /// answers its Read with SENDA; returns the copy's result (the client got it either way).</summary>
    private int Answer(int client, NetBufferRequest req, ReadOnlySpan<byte> frame)
    {
        int n = Math.Min(Math.Min(frame.Length, req.Length), NetDriverCall.MaxFrame);
        frame[..n].CopyTo(Channel.Current.Arena.Slice((int)_rxBuffer, n));
        int r = SysCall.SafeCopyTo(client, req.GrantId, 0, _rxBuffer, n);
        var body = new NetReadReply { Request = NetDriverCall.Read, GrantId = req.GrantId, Length = r == Err.Ok ? n : 0, FrameLength = frame.Length };
        if (_fault == NetDriverCall.FaultGarbage)
            body = new NetReadReply { Request = 0x5A5A5A5A, GrantId = ~req.GrantId, Length = -n, FrameLength = 1 << 30 };
        if (AsyncSender.Send(client, Message.Of(r, body)) != Err.Ok) Stats.ReplyFailures++;
        if (r == Err.Ok) Stats.Received++;
        return r;
    }
}
