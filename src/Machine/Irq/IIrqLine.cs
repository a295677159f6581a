// An interrupt line as a device sees it: level-triggered, raised while the device's interrupt
// condition holds (e.g. ISR & IMR != 0) and lowered when it clears.
namespace Bulkhead.Machine.Irq;

public interface IIrqLine
{
    int Number { get; }

    void Set(bool asserted);
}
