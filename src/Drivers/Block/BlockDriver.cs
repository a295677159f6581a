// The shared part of every block-device driver (MINIX's libblockdriver): the request loop over
// the BDEV-style protocol of Bulkhead.Lib.Block.BlockDriverCall, the minors (a disk's whole
// device and its MBR partitions, or an unpartitioned device's units), open counts, range and
// alignment checks, and the copies between a client's grants and the device's staging buffer
// (SAFECOPY/VSAFECOPY). A device plugs in through IBlockDevice; this file holds the start-up,
// the loop and the replies, BlockDriver.Minors.cs open/close/ioctl/flush and the partitions,
// BlockDriver.Transfer.cs the reads and writes, and the faults a `fault=` argument has it
// inject into them on purpose (BlockFaults.cs; then a dropped request gets no reply at all).
// Start-up: ServiceRuntime.Start, device Init, then `drv.blk.<label>` published in DS (once
// initialized, like drv.net), then InitDone to RS and the loop.
// Rules: every request field is checked before any state changes, and every reply names its
// request (BlockReply.Request and Id). Replies go out with SENDNB; an answer the client was not
// receiving at that instant (it sent with SENDA and is busy) goes with SENDA (AsyncSender), so a
// driver never blocks on a client and no answer is lost. While a device waits for its interrupt
// (WaitInterrupt) requests that arrive are kept for the loop (ServerLoop.Defer), heartbeats are
// answered, and the wait ends at a deadline (ETIMEDOUT).
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block;

public sealed partial class BlockDriver
{
    private readonly IBlockDevice _device;
    private readonly ServerLoop _loop = new() { NonBlockingReplies = true };
    private Message _lastReply;
    private int _lastClient = Endpoint.None;
    private string _label = "";

    public BlockDriver(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <summary>Answers that could not be delivered at all.</summary>
    public long ReplyFailures { get; private set; }

    /// <summary>Called at every heartbeat from RS (a device that keeps state in DS saves it again:
    /// DS may have been restarted and lost it).</summary>
    public Action? OnHeartbeat { get; set; }

    /// <summary>Faults to inject into data requests on purpose (a `fault=` argument; null: none).
    /// Set before Run.</summary>
    public BlockFaults? Faults { get; init; }

    /// <summary>The driver's label (its process name), for its messages.</summary>
    public string Label => _label;

    /// <summary>The request loop, for a device that is itself a client of other drivers (the
    /// filter's BlockClient keeps the requests that arrive while it waits: BlockClientOptions.Loop).</summary>
    public ServerLoop Loop => _loop;

    /// <summary>Starts the device and serves requests; returns the process exit status.</summary>
    public int Run(string label)
    {
        _label = label;
        ServiceRuntime.Start();
        _vector = ArenaHeap.Allocate((long)BlockDriverCall.MaxVector * BlockIoVector.Size);
        if (_vector < 0)
        {
            SysCall.Diag($"{label}: no memory for the request vector");
            return 1;
        }
        int r = _device.Init(this);
        if (r != Err.Ok)
        {
            SysCall.Diag($"{label}: initialization failed: {Err.Name(r)}");
            return 1;
        }
        InitMinors();
        // Optional: DS may be absent (a driver started on its own); failures do not matter.
        r = DsClient.PublishU32("drv.blk." + label, 1, DsFlags.Overwrite);
        if (r != Err.Ok && r != Err.EDEADSRCDST) SysCall.Diag($"{label}: cannot announce drv.blk.{label}: {Err.Name(r)}");
        ServiceRuntime.InitDone();

        _loop.OnNotify = m =>
        {
            if (m.Source == Endpoint.Hardware) _device.OnInterrupt(m.As<NotifyPayload>().Interrupts);
            else if (m.Source == Endpoint.Rs) OnHeartbeat?.Invoke();
        };
        _loop.OnReplyFailed = (client, result) =>
        {
            // Not receiving at this instant (a SENDA client busy elsewhere): send it with SENDA.
            if (result == Err.ENOTREADY && client == _lastClient && AsyncSender.Send(client, _lastReply) == Err.Ok) return;
            ReplyFailures++;
        };
        _loop.OnUnknown = (ref Message m) => Refuse(ref m, Err.ENOSYS);
        On(BlockDriverCall.Open, DoOpen).On(BlockDriverCall.Close, DoClose)
            .On(BlockDriverCall.Read, DoRead).On(BlockDriverCall.Write, DoWrite)
            .On(BlockDriverCall.Gather, DoGather).On(BlockDriverCall.Scatter, DoScatter)
            .On(BlockDriverCall.Ioctl, DoIoctl).On(BlockDriverCall.Flush, DoFlush);
        return _loop.Run() == Err.Ok ? 0 : 1;
    }

    private delegate int BlockHandler(int client, in BlockRequest req, ref BlockReply reply);

    /// <summary>Registers a handler that gets the checked-out request and fills the named reply;
    /// the reply is kept until the loop delivered it (OnReplyFailed resends it with SENDA).</summary>
    private BlockDriver On(int type, BlockHandler handler)
    {
        _loop.On(type, (ref Message m) =>
        {
            var req = m.As<BlockRequest>();
            var reply = new BlockReply { Request = type, Id = req.Id, Minor = req.Minor };
            int result = handler(m.Source, req, ref reply);
            if (result == Err.EDONTREPLY) return result;
            _lastClient = m.Source;
            m = Message.Of(result, reply);
            _lastReply = m;
            return result;
        });
        return this;
    }

    private int Refuse(ref Message m, int result)
    {
        var req = m.As<BlockRequest>();
        _lastClient = m.Source;
        m = Message.Of(result, new BlockReply { Request = m.Type, Id = req.Id, Minor = req.Minor });
        _lastReply = m;
        return result;
    }

    /// <summary>Waits for a HARDWARE notification while a device command runs, for at most
    /// <paramref name="timeoutNs"/>. Requests that arrive meanwhile are kept for the loop (or
    /// answered EAGAIN when ServerLoop.MaxDeferred already wait), heartbeats are answered.
    /// Returns OK with the interrupt bits, ETIMEDOUT, or the receive error.</summary>
    public int WaitInterrupt(long timeoutNs, out ulong hooks)
    {
        hooks = 0;
        long deadline = Now() + timeoutNs;
        SysCall.SetAlarm(timeoutNs, absolute: false, out _);
        while (true)
        {
            int r = IpcCall.Receive(Endpoint.Any, out var m);
            if (r != Err.Ok) return r;
            if (IpcCall.IsNotify(m))
            {
                if (m.Source == Endpoint.Hardware)
                {
                    SysCall.SetAlarm(0, absolute: false, out _);
                    hooks = m.As<NotifyPayload>().Interrupts;
                    return Err.Ok;
                }
                if (m.Source == Endpoint.Rs && ServiceRuntime.Started) ServiceRuntime.Alive();
                if (m.Source == Endpoint.Clock && Now() >= deadline) return Err.ETIMEDOUT;
                continue;
            }
            if (!_loop.Defer(m))
            {
                var busy = Message.Of(Err.EAGAIN, new BlockReply { Request = m.Type, Id = m.As<BlockRequest>().Id, Minor = m.As<BlockRequest>().Minor });
                if (IpcCall.SendNb(m.Source, ref busy) != Err.Ok && AsyncSender.Send(m.Source, busy) != Err.Ok) ReplyFailures++;
            }
        }
    }

    private static long Now() => SysCall.Times(Endpoint.Self, out var t) == Err.Ok ? t.UptimeNs : 0;
}
