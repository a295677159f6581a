// The 16-byte inline STR value of a DS message (thesis: strings of up to 16 characters travel
// in the message itself; longer data is MEM). Bytes, not characters: the client encodes UTF-8.
using System.Runtime.CompilerServices;

namespace Bulkhead.Lib.Ds;

[InlineArray(DsLimits.MaxStrLength)]
public struct DsString
{
    private byte _b0;
}
