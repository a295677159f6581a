// A frozen copy of a MEM entry's value, retrievable by its number (thesis §4.2.3: snapshots
// of a component's state, so a restarted component can roll back to a known-good version).
namespace Bulkhead.Servers.Ds;

internal readonly record struct DsSnapshot(int Number, byte[] Data);
