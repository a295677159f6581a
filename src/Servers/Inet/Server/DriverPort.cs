// One interface's network driver as INET sees it (thesis §3.3.4, Fig. 3.6; §4.3.1): INET never
// blocks on a driver. Every request goes out with SENDA (AsyncSender) and its answer comes back
// later as a message (OnAnswer); data moves only through grants of INET's own buffers — one
// receive buffer (write grant) with a Read kept posted at all times while the driver is up, and
// TxSlots transmit buffers (read grants), each with at most one Write in flight. Frames the
// engine hands over while every slot is busy wait in a bounded queue (QueueFrames, preallocated);
// beyond it they are dropped and counted (TCP resends them).
// States: Absent (no driver known) → Configuring (Conf sent to a new endpoint) → Up (MAC known,
// engine reset, Read posted) → Failed (no answer in AnswerTimeoutUs, a bad answer, an answer to
// nothing outstanding, or a SENDA refused: INET complains to RS, which replaces the driver) or Absent again (DS says the label has a new endpoint). Attach(endpoint) starts over
// with a new driver instance: new grants for it, Conf again; once it answers, the engine's
// InterfaceReset (gratuitous ARP, TCP resends), a Read posted, and the frames that were in
// flight to the dead driver resent first, then the queue.
// Rules: nothing in an answer is trusted — its source must be the current driver, its request
// and grant must be ones outstanding, lengths are checked; a Read may wait for ever (no
// traffic), a Conf or Write answer may not. Transmit never calls back into the engine.
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Inet.Config;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Server;

public enum PortState
{
    Absent,
    Configuring,
    Up,
    Failed,
}

public sealed class DriverPort : INetLink
{
    public const int TxSlots = 8;
    public const int QueueFrames = 64;
    /// <summary>How long a Conf or Write may go unanswered before the driver counts as failed.</summary>
    public const long AnswerTimeoutUs = 1_000_000;

    private readonly NetEngine _engine;
    private readonly InterfaceConfig _config;
    private readonly long _rxBlock;
    private int _rxGrant = -1;
    private bool _readPosted;
    private long _confSentAt;
    private readonly TxSlot[] _slots = new TxSlot[TxSlots];
    private readonly byte[][] _queue = new byte[QueueFrames][];
    private readonly int[] _queueLength = new int[QueueFrames];
    private int _queueHead, _queueCount;

    private sealed class TxSlot
    {
        public long Block = -1;
        public int Grant = -1;
        public int Length;
        /// <summary>A Write of this slot is with the driver (sent at SentAt).</summary>
        public bool InFlight;
        /// <summary>Holds a frame not yet written to the current driver (resent after a restart).</summary>
        public bool Pending;
        public long SentAt;
    }

    public DriverPort(NetEngine engine, InterfaceConfig config, int index)
    {
        _engine = engine;
        _config = config;
        Index = index;
        _rxBlock = ArenaHeap.Allocate(NetDriverCall.MaxFrame);
        if (_rxBlock < 0) throw new InvalidOperationException("no arena memory for a receive buffer");
        for (int i = 0; i < TxSlots; i++)
        {
            _slots[i] = new TxSlot { Block = ArenaHeap.Allocate(NetDriverCall.MaxFrame) };
            if (_slots[i].Block < 0) throw new InvalidOperationException("no arena memory for transmit buffers");
        }
        for (int i = 0; i < QueueFrames; i++) _queue[i] = new byte[NetDriverCall.MaxFrame];
    }

    public int Index { get; }
    public string Name => _config.Name;
    /// <summary>The DS label of the driver (inet.conf's `driver`).</summary>
    public string Label => _config.Driver;
    public int Endpoint { get; private set; } = Bulkhead.Lib.Ipc.Endpoint.None;
    public PortState State { get; private set; } = PortState.Absent;
    public MacAddress Mac { get; private set; }

    // Counters (INET's dump).
    public long FramesIn, FramesOut, QueueDrops, DownDrops, Failures, Restarts, StrayAnswers, RxErrors, TxErrors;

    /// <summary>The engine hands a finished frame to the driver (INetLink).</summary>
    public void Transmit(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame) { TxErrors++; return; }
        if (State != PortState.Up)
        {
            DownDrops++; // the engine's own down-queue keeps frames once it knows; these came before
            return;
        }
        if (FreeSlot() is { } slot)
        {
            frame.CopyTo(Channel.Current.Arena.Slice((int)slot.Block, frame.Length));
            slot.Length = frame.Length;
            slot.Pending = true;
            SendWrite(slot, Now());
            return;
        }
        if (_queueCount == QueueFrames)
        {
            QueueDrops++;
            return;
        }
        int tail = (_queueHead + _queueCount) % QueueFrames;
        frame.CopyTo(_queue[tail]);
        _queueLength[tail] = frame.Length;
        _queueCount++;
    }

    /// <summary>A (new) driver instance serves the label at <paramref name="endpoint"/>: grant it
    /// our buffers and configure it; the interface comes up when it answers.</summary>
    public void Attach(int endpoint, long now)
    {
        if (State == PortState.Up) _engine.InterfaceDown(Index);
        if (Endpoint != Bulkhead.Lib.Ipc.Endpoint.None) Restarts++;
        RevokeGrants();
        Endpoint = endpoint;
        _readPosted = false;
        foreach (var s in _slots)
        {
            // What was in flight to the old instance is lost with it: send it again.
            if (s.InFlight) s.Pending = true;
            s.InFlight = false;
        }
        _rxGrant = GrantTable.Current.Direct(endpoint, _rxBlock, NetDriverCall.MaxFrame, Grant.Write);
        foreach (var s in _slots) s.Grant = _rxGrant < 0 ? -1 : GrantTable.Current.Direct(endpoint, s.Block, NetDriverCall.MaxFrame, Grant.Read);
        if (_rxGrant < 0 || _slots.Any(s => s.Grant < 0))
        {
            Fail($"cannot grant buffers to {Label} ({endpoint})", driversFault: false);
            return;
        }
        int mode = _config.Mac is null ? 0 : NetDriverCall.ModeBroadcast | NetDriverCall.ModePromiscuous; // 0: the driver keeps its default (broadcast)
        State = PortState.Configuring;
        _confSentAt = now;
        int r = AsyncSender.Send(endpoint, Message.Of(NetDriverCall.Conf, new NetConfRequest { Mode = mode }));
        if (r != Err.Ok) Fail($"Conf to {Label} ({endpoint}) refused: {Err.Name(r)}");
    }

    /// <summary>The driver's label no longer names <see cref="Endpoint"/> (RS is replacing it).</summary>
    public void Detach()
    {
        if (State == PortState.Up) _engine.InterfaceDown(Index);
        if (State is PortState.Up or PortState.Configuring) SysCall.Diag($"inet: {Name}: driver {Label} ({Endpoint}) is gone; waiting for its replacement");
        State = PortState.Absent;
        RevokeGrants();
        _readPosted = false;
        foreach (var s in _slots)
        {
            if (s.InFlight) s.Pending = true;
            s.InFlight = false;
        }
    }

    /// <summary>An answer (m_type ≤ 0) from <paramref name="m"/>.Source, already known to be this port's driver.</summary>
    public void OnAnswer(in Message m, long now)
    {
        switch (NetDriverCall.RequestOf(m))
        {
            case NetDriverCall.Conf when State == PortState.Configuring:
                OnConf(m, now);
                break;
            case NetDriverCall.Read when _readPosted && m.As<NetReadReply>().GrantId == _rxGrant:
                _readPosted = false;
                OnRead(m, now);
                break;
            case NetDriverCall.Write when FindInFlight(m.As<NetWriteReply>().GrantId) is { } slot:
                slot.InFlight = false;
                if (m.Type == Err.Ok) FramesOut++;
                else TxErrors++;
                Pump(now);
                break;
            default:
                // An answer to nothing outstanding — the wrong request, a grant we never sent,
                // a second answer — from the driver itself: it is confused, not the network.
                StrayAnswers++;
                Fail($"answered a request it was not asked (request {NetDriverCall.RequestOf(m)}, m_type {Err.Name(m.Type)})");
                break;
        }
    }

    private void OnConf(in Message m, long now)
    {
        var reply = m.As<NetConfReply>();
        var card = new MacAddress(0);
        if (m.Type == Err.Ok)
        {
            var bytes = reply.MacBytes();
            card = MacAddress.Read(bytes);
        }
        if (m.Type != Err.Ok || card.IsGroup || card == MacAddress.Zero)
        {
            Fail(m.Type != Err.Ok ? $"Conf answered {Err.Name(m.Type)}" : $"Conf answered a bad MAC {card}");
            return;
        }
        Mac = _config.Mac ?? card;
        State = PortState.Up;
        SysCall.Diag($"inet: {Name}: driver {Label} ({Endpoint}) up, MAC {Mac}{(Restarts > 0 ? $", restart {Restarts}" : "")}");
        PostRead();
        Pump(now); // frames that were in flight to the previous instance first
        _engine.InterfaceReset(Index, now, this, Mac);
    }

    private void OnRead(in Message m, long now)
    {
        var reply = m.As<NetReadReply>();
        if (m.Type != Err.Ok)
        {
            Fail($"Read answered {Err.Name(m.Type)}");
            return;
        }
        if (reply.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame || reply.FrameLength != reply.Length)
        {
            RxErrors++; // a frame too long for our buffer, or a lie: not passed on
        }
        else
        {
            FramesIn++;
            // The buffer is the driver's to fill again only after the engine is done with it;
            // frames that arrive meanwhile wait in the driver's receive queue.
            _engine.FrameArrived(Index, Channel.Current.Arena.Slice((int)_rxBlock, reply.Length), now);
        }
        PostRead();
    }

    /// <summary>Checks the deadlines of outstanding answers; returns the next one (µs) or long.MaxValue.</summary>
    public long Tick(long now)
    {
        long next = long.MaxValue;
        if (State == PortState.Configuring)
        {
            if (now - _confSentAt >= AnswerTimeoutUs) Fail($"no answer to Conf within {AnswerTimeoutUs / 1000} ms");
            else next = _confSentAt + AnswerTimeoutUs;
        }
        if (State == PortState.Up)
        {
            foreach (var s in _slots)
            {
                if (!s.InFlight) continue;
                if (now - s.SentAt >= AnswerTimeoutUs)
                {
                    Fail($"no answer to a Write within {AnswerTimeoutUs / 1000} ms");
                    break;
                }
                next = Math.Min(next, s.SentAt + AnswerTimeoutUs);
            }
        }
        return next;
    }

    public string Dump() =>
        $"{Name} driver={Label} ep={Endpoint} state={State} mac={Mac} in={FramesIn} out={FramesOut} queued={_queueCount} " +
        $"queue-drops={QueueDrops} down-drops={DownDrops} rx-errors={RxErrors} tx-errors={TxErrors} stray={StrayAnswers} " +
        $"failures={Failures} restarts={Restarts}";

    private void PostRead()
    {
        if (_readPosted || State != PortState.Up) return;
        int r = AsyncSender.Send(Endpoint, Message.Of(NetDriverCall.Read, new NetBufferRequest { GrantId = _rxGrant, Length = NetDriverCall.MaxFrame }));
        if (r != Err.Ok)
        {
            Fail($"Read to {Label} refused: {Err.Name(r)}");
            return;
        }
        _readPosted = true;
    }

    /// <summary>Sends what waits: slots still to be written (to a restarted driver), then the queue.</summary>
    private void Pump(long now)
    {
        if (State != PortState.Up) return;
        foreach (var s in _slots)
            if (s.Pending && !s.InFlight && !SendWrite(s, now)) return;
        while (_queueCount > 0 && FreeSlot() is { } slot)
        {
            int length = _queueLength[_queueHead];
            _queue[_queueHead].AsSpan(0, length).CopyTo(Channel.Current.Arena.Slice((int)slot.Block, length));
            slot.Length = length;
            slot.Pending = true;
            _queueHead = (_queueHead + 1) % QueueFrames;
            _queueCount--;
            if (!SendWrite(slot, now)) return;
        }
    }

    private bool SendWrite(TxSlot slot, long now)
    {
        int r = AsyncSender.Send(Endpoint, Message.Of(NetDriverCall.Write, new NetBufferRequest { GrantId = slot.Grant, Length = slot.Length }));
        if (r == Err.EAGAIN) return false; // our SENDA table is full: the slot stays pending
        if (r != Err.Ok)
        {
            Fail($"Write to {Label} refused: {Err.Name(r)}");
            return false;
        }
        slot.Pending = false;
        slot.InFlight = true;
        slot.SentAt = now;
        return true;
    }

    private TxSlot? FreeSlot()
    {
        foreach (var s in _slots)
            if (!s.InFlight && !s.Pending) return s;
        return null;
    }

    private TxSlot? FindInFlight(int grant)
    {
        foreach (var s in _slots)
            if (s.InFlight && s.Grant == grant) return s;
        return null;
    }

    /// <summary>The driver misbehaved or did not answer: the interface is down, INET complains to
    /// RS (thesis §4.1.1; INET's policy names its drivers in its `driver` key), which replaces the
    /// driver, and DS then reports the new instance. A refused complaint is logged; the interface
    /// stays down until DS reports a new instance all the same.</summary>
    private void Fail(string why, bool driversFault = true)
    {
        Failures++;
        int complaint = driversFault ? RsClient.Complain(Endpoint) : Err.Ok;
        SysCall.Diag($"inet: {Name}: driver {Label} ({Endpoint}) failed: {why}" +
                     (!driversFault ? "" : complaint == Err.Ok ? "; complained to RS" : $"; complaint to RS refused: {Err.Name(complaint)}"));
        if (State == PortState.Up) _engine.InterfaceDown(Index);
        State = PortState.Failed;
        _readPosted = false;
        foreach (var s in _slots)
        {
            if (s.InFlight) s.Pending = true;
            s.InFlight = false;
        }
    }

    private void RevokeGrants()
    {
        if (_rxGrant >= 0) GrantTable.Current.Revoke(_rxGrant);
        _rxGrant = -1;
        foreach (var s in _slots)
        {
            if (s.Grant >= 0) GrantTable.Current.Revoke(s.Grant);
            s.Grant = -1;
        }
    }

    private static long Now() => InetClock.NowUs;
}
