// Kinds of drivers.conf tokens: words, the three punctuation marks and the end of the input.
// drivers.conf has no quoted strings (no value needs spaces), unlike boot.conf.
namespace Bulkhead.Servers.Rs.Policy;

internal enum PolicyTokenKind
{
    Word,
    Open,
    Close,
    Semicolon,
    End,
}
