// BlockClient's requests: one request is sent to the current driver instance and its answer
// checked (Exchange); Request repeats it across driver restarts, failures and the driver's
// EIO/EAGAIN/EBADF answers until it is answered, MaxAttempts sends were made (EIO), or the
// driver stayed away longer than RecoveryTimeoutMs (EIO). After IdleCheckMs without an answer
// the label is looked up before sending (the driver may have been replaced while the client was
// idle, its DS notification gone to the owner's loop); a deadline that passes while the label
// names another instance is that instance's replacement, not a failure to complain about.
// What an answer must be (anything else is the driver's failure, reported to RS): from the
// current instance; a reply (m_type ≤ 0), and an error code a block driver may give; naming our
// request's type and Id (an Id we gave up on earlier with this instance is a late answer,
// dropped); for a transfer, a count within what was asked, a multiple of the sector, and all of
// it where the minor has the bytes (a short count only where the minor ends).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Block;

public sealed partial class BlockClient
{
    /// <summary>How one exchange with the driver ended.</summary>
    private enum Outcome
    {
        /// <summary>The driver answered our request (the answer passed every check).</summary>
        Answered,
        /// <summary>The instance is dead: SENDA found it so.</summary>
        Gone,
        /// <summary>DS names another endpoint for the label, or none: the instance is being
        /// replaced — or DS itself was, and names it again once RS republishes it.</summary>
        Moved,
        /// <summary>No answer by the deadline.</summary>
        Silent,
        /// <summary>An answer that is not the answer to our request.</summary>
        Garbage,
        /// <summary>The client itself cannot go on (its own receive or SENDA failed).</summary>
        Broken,
    }

    private int _nextId;
    /// <summary>Environment.TickCount64 of the last answer from the current instance.</summary>
    private long _lastAnswerAt;

    /// <summary>After this long without an answer the label is looked up before the next request:
    /// the driver may have been replaced while the client was idle (the DS notification then
    /// went to the owner's loop, not to the client).</summary>
    private const long IdleCheckMs = 500;

    /// <summary>Sends <paramref name="req"/> (type <paramref name="type"/>, on our minor) until it
    /// is answered: OK with the reply, the driver's error answer, or EIO.</summary>
    private int Request(int type, BlockRequest req, int count, out BlockReply reply)
    {
        reply = default;
        for (int attempt = 1; ; attempt++)
        {
            if (attempt > 1) Reissued++;
            if (_opened && !_failed && Environment.TickCount64 - _lastAnswerAt > IdleCheckMs && LabelMoved()) Suspect();
            if (!_opened || _failed)
            {
                int r = Reattach();
                if (r != Err.Ok) return r;
            }
            req.Minor = _minor;
            req.GrantId = type == BlockDriverCall.Read ? _readGrant : type == BlockDriverCall.Write ? _writeGrant : -1;
            var outcome = Exchange(type, req, count, Deadline(_options.AnswerTimeoutMs), out var answer, out string why);
            switch (outcome)
            {
                case Outcome.Answered:
                    reply = answer.As<BlockReply>();
                    int result = answer.Type;
                    if (result == Err.Ok) return Err.Ok;
                    if (result == Err.EBADF)
                    {
                        _opened = false; // the instance does not know our open: reopen, send again
                        break;
                    }
                    if (result is not (Err.EIO or Err.EAGAIN)) return result; // the driver's answer to a bad request
                    break;
                case Outcome.Gone:
                    Dead();
                    break;
                case Outcome.Moved:
                case Outcome.Silent when LabelMoved():
                    Suspect(); // replaced meanwhile: not this instance's fault
                    break;
                case Outcome.Silent:
                case Outcome.Garbage:
                    if (outcome == Outcome.Silent) Timeouts++;
                    Fail(why);
                    break;
                default:
                    return Err.EIO;
            }
            if (attempt >= _options.MaxAttempts)
            {
                SysCall.Diag($"blockclient: {_label} minor {_minor}: request {type - BlockDriverCall.Base} at {req.Position} failed {attempt} times: EIO");
                return Err.EIO;
            }
        }
    }

    /// <summary>Sends one request to the current instance and waits for its answer until
    /// <paramref name="deadline"/> (uptime, ns).</summary>
    private Outcome Exchange(int type, BlockRequest req, int count, long deadline, out Message answer, out string why)
    {
        answer = default;
        why = "";
        req.Id = NextId();
        Sent++;
        int r = AsyncSender.Send(_endpoint, Message.Of(type, req));
        if (r == Err.EDEADSRCDST)
        {
            DeadWhenSending++;
            return Outcome.Gone;
        }
        if (r != Err.Ok)
        {
            SysCall.Diag($"blockclient: {_label}: cannot send to the driver: {Err.Name(r)}");
            return Outcome.Broken;
        }
        var outcome = Await(type, req, count, deadline, out answer, out why);
        if (outcome == Outcome.Garbage) UnexpectedAnswers++;
        else if (outcome == Outcome.Answered && answer.Type is not (Err.Ok or Err.EBADF)) ErrorAnswers++;
        return outcome;
    }

    private int NextId()
    {
        _nextId = _nextId == int.MaxValue ? 1 : _nextId + 1;
        return _nextId;
    }

    /// <summary>True when <paramref name="id"/> was sent to the current instance before
    /// <paramref name="current"/> (a request given up on: its late answer is dropped).</summary>
    private bool EarlierId(int id, int current) =>
        _firstIdOfEndpoint != 0 && (uint)(current - id) - 1 < (uint)(current - _firstIdOfEndpoint);

    /// <summary>Why <paramref name="m"/>, from the current instance, is not the answer to
    /// <paramref name="req"/>; null when it is.</summary>
    private string? Misanswer(int type, in BlockRequest req, int count, in Message m)
    {
        var rep = m.As<BlockReply>();
        if (m.Type > 0) return $"sent a request ({m.Type}) instead of an answer";
        if (!PlausibleResult(m.Type)) return $"answered with result {m.Type}";
        if (rep.Request != type || rep.Id != req.Id) return $"answered request {rep.Request}/{rep.Id} when {type}/{req.Id} was asked";
        if (m.Type != Err.Ok || type is not (BlockDriverCall.Read or BlockDriverCall.Write)) return null;
        if (rep.Count < 0 || rep.Count > count || (SectorSize > 0 && rep.Count % SectorSize != 0))
            return $"moved {rep.Count} bytes of {count}";
        bool inside = Size > 0 && req.Position <= Size - count;
        if (inside && rep.Count != count) return $"moved {rep.Count} bytes of {count} inside the minor";
        return null;
    }

    /// <summary>Results a block driver may give (BlockDriverCall's header).</summary>
    private static bool PlausibleResult(int result) => result is Err.Ok or Err.EIO or Err.EBADF or Err.EINVAL or Err.ENXIO
        or Err.EAGAIN or Err.EPERM or Err.ENOTTY or Err.ENOSYS or Err.ENOMEM or Err.EBUSY or Err.ENOSPC or Err.EACCES or Err.EFAULT;
}
