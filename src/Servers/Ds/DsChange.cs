// A change waiting for a subscriber's CHECK: which key of which type changed, and the owner's
// label at the time of the change. A deleted key is reported like any other change; the
// subscriber learns of the deletion when its RETRIEVE answers ESRCH.
namespace Bulkhead.Servers.Ds;

internal readonly record struct DsChange(string Key, int Type, string Owner);
