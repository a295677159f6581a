// Fixed bounds of the data store, shared by DS and its clients (STYLE rule 7: no unbounded
// growth driven by an untrusted component). Exceeding a size bound in a request is EINVAL;
// a full table or an exhausted memory budget is ENOSPC.
namespace Bulkhead.Lib.Ds;

public static class DsLimits
{
    /// <summary>Key and label length in bytes (MINIX DS_MAX_KEYLEN is 80). Keys are printable
    /// ASCII without spaces (0x21..0x7E) and travel through a memory grant.</summary>
    public const int MinKeyLength = 2;
    public const int MaxKeyLength = 80;
    /// <summary>STR values travel inside the message (thesis: 16 characters in a message).</summary>
    public const int MaxStrLength = 16;
    /// <summary>One MEM value, copied through a grant.</summary>
    public const int MaxMemLength = 64 * 1024;
    /// <summary>All MEM values and their snapshots together.</summary>
    public const int MemBudget = 1024 * 1024;
    /// <summary>Previous versions kept per MEM entry (MINIX NR_DS_SNAPSHOT is 5).</summary>
    public const int SnapshotsPerEntry = 4;
    /// <summary>Entries of every type, labels included.</summary>
    public const int MaxEntries = 256;
    /// <summary>Subscription regex length in bytes (travels through a grant like a key).</summary>
    public const int MaxRegexLength = 80;
    public const int MaxSubscriptions = 64;
    public const int MaxSubscriptionsPerSubscriber = 8;
    /// <summary>Changed keys remembered per subscriber until it checks; the oldest is dropped beyond.</summary>
    public const int MaxPendingPerSubscriber = 2 * MaxEntries;
    /// <summary>Match time-out per key and regex; a regex that times out does not match.</summary>
    public const int RegexTimeoutMs = 20;
}
