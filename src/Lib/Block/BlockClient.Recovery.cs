// BlockClient's recovery (thesis §4.3.1): the file server notices that its driver died or
// failed, waits for RS to bring a new instance — which DS announces — reopens its minor there
// and reissues the pending request.
//   * Finding the instance: the client subscribes in DS to its label and to drv.blk.<label>
//     (RS republishes the label when it replaces the driver; the driver publishes drv.blk once
//     it is initialized) and looks the label up at each notification. A request sent to an
//     instance still initializing waits in the kernel until it receives: no need to wait for
//     drv.blk. It also looks the label up every PollMs while it waits: a restarted DS has lost
//     the subscription (and a process without a label has none).
//   * DS's word is not proof: when DS stops naming the instance (a new, empty DS before RS
//     republishes the labels), the client waits for what DS names next and goes on with the
//     same instance if that is what it names; a dead or complained-about instance (Dead) is
//     never used again.
//   * Reattaching: the staging buffer's grants are revoked and made again for the new endpoint,
//     the minor is opened there (a FlagContentsLost answer is logged and counted: the driver
//     lost what was written, which no reissue repairs). Each new instance is logged once.
//   * Failing: a silent or confused driver is reported to RS (RsClient.Complain; RS replaces it
//     when the process's policy names it in its `driver` key). When RS refuses (EPERM), the
//     client goes on with the same instance: the request is sent again, its late answer dropped.
using System.Text.RegularExpressions;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Block;

public sealed partial class BlockClient
{
    /// <summary>Interval of label look-ups when DS refused the subscription.</summary>
    private const long PollMs = 250;

    private int _endpoint = Endpoint.None;
    /// <summary>Our Open succeeded with the current instance.</summary>
    private bool _opened;
    /// <summary>The current instance died or failed, or DS stopped naming it: Reattach finds the
    /// instance to use next.</summary>
    private bool _failed;
    /// <summary>Only DS's word condemned the current instance (Suspect): if DS names it again,
    /// it may go on (Acceptable).</summary>
    private bool _mayResume;
    private int _readGrant = -1, _writeGrant = -1;
    /// <summary>The first request Id sent to the current instance (0: none yet).</summary>
    private int _firstIdOfEndpoint;
    private bool _subscribed;

    private void Subscribe()
    {
        string label = Regex.Escape(_label);
        int r = DsClient.Subscribe($@"{label}|drv\.blk\.{label}", 0);
        _subscribed = r == Err.Ok;
        if (!_subscribed) SysCall.Diag($"blockclient: {_label}: no DS subscription ({Err.Name(r)}); looking the label up every {PollMs} ms while the driver is away");
    }

    /// <summary>Makes the current instance, or the next one, serve our minor: OK, or EIO when no
    /// instance came back and opened it within RecoveryTimeoutMs, or the driver's answer to Open.</summary>
    private int Reattach()
    {
        long deadline = Deadline(_options.RecoveryTimeoutMs);
        while (true)
        {
            if (_endpoint == Endpoint.None || _failed)
            {
                int gone = _endpoint;
                int? found;
                while (!Acceptable(found = LabelNow(), gone))
                {
                    long now = Now();
                    if (now >= deadline)
                    {
                        SysCall.Diag($"blockclient: {_label}: the driver did not come back within {_options.RecoveryTimeoutMs} ms: EIO");
                        return Err.EIO;
                    }
                    // A DS notification ends the wait early; the look-up every PollMs covers a
                    // subscription lost with a restarted DS.
                    AwaitNewInstance(gone, Math.Min(deadline, now + PollMs * 1_000_000));
                }
                if (found == _endpoint)
                {
                    // DS names the instance we had again (DS itself was restarted): go on with it.
                    _failed = false;
                    _mayResume = false;
                    SysCall.Diag($"blockclient: {_label} minor {_minor}: DS names instance {_endpoint} again; going on with it");
                    if (_opened) return Err.Ok;
                }
                else
                {
                    int r = Switch(found!.Value);
                    if (r != Err.Ok) return r;
                }
            }
            var outcome = Exchange(BlockDriverCall.Open, new BlockRequest { Minor = _minor, Access = _access },
                0, Math.Min(Deadline(_options.AnswerTimeoutMs), deadline), out var answer, out string why);
            switch (outcome)
            {
                case Outcome.Answered when answer.Type == Err.Ok:
                    _opened = true;
                    if ((answer.As<BlockReply>().Flags & BlockDriverCall.FlagContentsLost) != 0)
                    {
                        ContentsLost++;
                        SysCall.Diag($"blockclient: {_label} minor {_minor}: the driver says the minor's contents were lost");
                    }
                    return Err.Ok;
                case Outcome.Answered when answer.Type is Err.EIO or Err.EAGAIN:
                    break; // try again, within the deadline
                case Outcome.Answered:
                    return answer.Type; // the minor is not there (ENXIO), or may not be opened so
                case Outcome.Gone:
                    Dead();
                    break;
                case Outcome.Moved:
                case Outcome.Silent when LabelMoved():
                    Suspect();
                    break;
                case Outcome.Silent:
                case Outcome.Garbage:
                    if (outcome == Outcome.Silent) Timeouts++;
                    if (!Fail(why)) return Err.EIO; // the same instance again would only fail again
                    break;
                default:
                    return Err.EIO;
            }
            if (Now() >= deadline)
            {
                SysCall.Diag($"blockclient: {_label}: minor {_minor} not reopened within {_options.RecoveryTimeoutMs} ms: EIO");
                return Err.EIO;
            }
        }
    }

    /// <summary>Talks to instance <paramref name="ep"/> from now on: new grants, nothing open.</summary>
    private int Switch(int ep)
    {
        if (Endpoint.IsSpecial(ep)) return Err.EIO;
        RevokeGrants();
        if (_endpoint != Endpoint.None)
        {
            DriverRestarts++;
            SysCall.Diag($"blockclient: {_label} minor {_minor}: driver restarted ({_endpoint} -> {ep}, restart {DriverRestarts}); reopening and reissuing");
        }
        _endpoint = ep;
        _opened = false;
        _failed = false;
        _mayResume = false;
        _firstIdOfEndpoint = _nextId == int.MaxValue ? 1 : _nextId + 1;
        int size = _options.StagingBytes;
        _readGrant = GrantTable.Current.Direct(ep, _staging, size, Grant.Write);
        _writeGrant = _readGrant < 0 ? _readGrant : GrantTable.Current.Direct(ep, _staging, size, Grant.Read);
        if (_readGrant < 0 || _writeGrant < 0)
        {
            int r = _readGrant < 0 ? _readGrant : _writeGrant;
            SysCall.Diag($"blockclient: {_label}: cannot grant the staging buffer: {Err.Name(r)}");
            RevokeGrants();
            _failed = true;
            return r;
        }
        return Err.Ok;
    }

    /// <summary>The owner found the current instance misbehaving where the protocol cannot see it
    /// (data that fails a checksum, a write that did not land: the filter driver, thesis §4.4):
    /// complains to RS like a silent driver. OK when RS took it (the next request waits for the
    /// new instance), else RS's refusal, and the same instance goes on.</summary>
    public int Complain(string why)
    {
        if (_disposed) return Err.EBADF;
        if (_failed) return Err.Ok; // already condemned, or already being replaced
        return Fail(why) ? Err.Ok : Err.EPERM;
    }

    /// <summary>The current instance misbehaved: complain to RS. True when RS took the complaint
    /// (a new instance will come); false when it refused, and the same instance goes on.</summary>
    private bool Fail(string why)
    {
        Complaints++;
        int r = RsClient.Complain(_endpoint);
        SysCall.Diag($"blockclient: {_label} ({_endpoint}) failed: {why}; " +
                     (r == Err.Ok ? "complained to RS" : $"complaint to RS refused: {Err.Name(r)}"));
        if (r != Err.Ok) return false;
        Dead();
        return true;
    }

    /// <summary>The current instance is dead or condemned: only another will do.</summary>
    private void Dead()
    {
        _failed = true;
        _mayResume = false;
    }

    /// <summary>DS no longer names the current instance: find what it names (the same one may do).</summary>
    private void Suspect()
    {
        if (!_failed) _mayResume = true;
        _failed = true;
    }

    private void RevokeGrants()
    {
        if (_readGrant >= 0) GrantTable.Current.Revoke(_readGrant);
        if (_writeGrant >= 0) GrantTable.Current.Revoke(_writeGrant);
        _readGrant = _writeGrant = -1;
    }

    /// <summary>Close on the current instance, its answer awaited briefly and otherwise ignored.</summary>
    private void CloseQuietly()
    {
        long deadline = Deadline(Math.Min(_options.AnswerTimeoutMs, 2000));
        Exchange(BlockDriverCall.Close, new BlockRequest { Minor = _minor }, 0, deadline, out _, out _);
    }
}
