// A component's own state kept in DS across its restarts (thesis §4.2.3): one private MEM
// entry, rewritten whole after every change and again at every heartbeat, so that a DS that
// was itself restarted (and lost everything, docs/rs.md) has it again within one period.
// Text, one record per line: the component parses what it reads back and trusts none of it.
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Ds;

public sealed class DsBackup(string key)
{
    public string Key { get; } = key;

    /// <summary>Stores <paramref name="text"/> (at most DsLimits.MaxMemLength bytes) under the key.</summary>
    public int Save(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > DsLimits.MaxMemLength) return Err.E2BIG;
        // DS takes no empty MEM value: an empty state is one empty line.
        return DsClient.PublishMem(Key, bytes.Length == 0 ? "\n"u8 : bytes, DsFlags.Private | DsFlags.Overwrite);
    }

    /// <summary>The records saved by an earlier instance, and the endpoints alive now (the
    /// kernel's process table) to check the records' owners against; ESRCH if there are none.
    /// A failure other than ESRCH is reported on the console under the key's name.</summary>
    public int Load(out List<string[]> records, out HashSet<int> alive)
    {
        alive = [];
        int r = Load(out records);
        if (r != Err.Ok)
        {
            if (r != Err.ESRCH) SysCall.Diag($"cannot read {Key} from DS: {Err.Name(r)}");
            return r;
        }
        r = SysCall.ProcessTable(out var rows);
        if (r != Err.Ok) return r;
        foreach (var p in rows)
            if (p.State != ProcState.Zombie) alive.Add(p.Endpoint);
        return Err.Ok;
    }

    /// <summary>The records saved by an earlier instance; none (and ESRCH) if there are none.</summary>
    public int Load(out List<string[]> records)
    {
        records = [];
        var buffer = new byte[DsLimits.MaxMemLength];
        int r = DsClient.RetrieveMem(Key, buffer, out int length);
        if (r != Err.Ok) return r;
        foreach (var line in Encoding.UTF8.GetString(buffer, 0, Math.Min(length, buffer.Length)).Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0) records.Add(fields);
        }
        return Err.Ok;
    }
}
