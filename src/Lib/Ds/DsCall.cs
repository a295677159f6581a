// Request numbers of the data store (MINIX DS_RQ_BASE 0x800, thesis §4.2.3). The value type
// travels in the request flags (DsFlags.Type*), as in MINIX, so one PUBLISH serves every type.
// Numbers are wire constants: explicit and append-only, never renumbered.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

public static class DsCall
{
    public const int Base = Protocols.Ds;

    /// <summary>Store a value under a key (type in flags).</summary>
    public const int Publish = Base + 0;
    /// <summary>Read a value by key and type.</summary>
    public const int Retrieve = Base + 1;
    /// <summary>Register a key regex; changes to matching keys are reported with NOTIFY.</summary>
    public const int Subscribe = Base + 2;
    /// <summary>Fetch one changed key of the caller's subscriptions (ENOENT when none).</summary>
    public const int Check = Base + 3;
    /// <summary>Remove a key of a given type (owner only).</summary>
    public const int Delete = Base + 4;
    /// <summary>Keep a copy of a memory entry's current value as a numbered snapshot.</summary>
    public const int Snapshot = Base + 5;
    /// <summary>Reverse label lookup: the label published for an endpoint.</summary>
    public const int RetrieveLabel = Base + 6;

    public static string Name(int call) => call switch
    {
        Publish => "DS_PUBLISH",
        Retrieve => "DS_RETRIEVE",
        Subscribe => "DS_SUBSCRIBE",
        Check => "DS_CHECK",
        Delete => "DS_DELETE",
        Snapshot => "DS_SNAPSHOT",
        RetrieveLabel => "DS_RETRIEVE_LABEL",
        _ => $"ds{call}",
    };
}
