// One data store entry: a key of one type, its owner's label, its privacy bits and its value.
// Keys are unique per type (as MINIX: the same name may exist as U32 and as STR). STR and MEM
// values are private byte copies; a MEM entry also keeps its last snapshots, numbered from 1
// upwards, oldest first. The store accounts every MEM byte (value and snapshots) in its budget.
namespace Bulkhead.Servers.Ds;

internal sealed class DsEntry(string key, int type)
{
    public string Key { get; set; } = key;
    public int Type { get; } = type;
    /// <summary>Label of the publisher; stable across its restarts.</summary>
    public string Owner { get; set; } = "";
    /// <summary>DsFlags.Priv* bits.</summary>
    public int Privacy { get; set; }
    public uint U32 { get; set; }
    /// <summary>LABEL value.</summary>
    public int Endpoint { get; set; }
    /// <summary>STR or MEM value.</summary>
    public byte[] Bytes { get; set; } = [];
    public List<DsSnapshot> Snapshots { get; } = [];
    /// <summary>Number of the last snapshot taken (0: none yet).</summary>
    public int LastSnapshot { get; set; }

    public bool Has(int privBit) => (Privacy & privBit) != 0;

    /// <summary>Bytes this entry holds against the MEM budget.</summary>
    public long MemBytes
    {
        get
        {
            long n = Type == Bulkhead.Lib.Ds.DsFlags.TypeMem ? Bytes.Length : 0;
            foreach (var s in Snapshots) n += s.Data.Length;
            return n;
        }
    }
}
