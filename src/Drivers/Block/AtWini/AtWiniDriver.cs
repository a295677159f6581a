// at_wini: the driver of the ATA disk on one IDE channel (MINIX's drivers/storage/at_wini), on
// the shared block-driver library (BlockDriver): minor 0 is the whole disk, minors 1..4 its MBR
// partitions. One instance per channel: c0d0 on the primary, c1d0 on the secondary.
// Arguments: `channel=primary|secondary` (default primary) chooses the channel: legacy ports
// 0x1F0–0x1F7, 0x3F6 and IRQ 14, or 0x170–0x177, 0x376 and IRQ 15; `pio` forces programmed I/O;
// `timeout=MS` sets how long a command may go without its interrupt (default 2000);
// `fault=KIND[,every=N][,minor=M]` has the driver misbehave on purpose, for tests and
// demonstrations (BlockFaults: noop, misdirect, flip, fail, hang).
// A bad argument is said on the console and the driver exits with status 2.
// Initialization: (1) unless `pio`, ask the PCI-bus driver for the IDE functions its policy
// grants (8086:7010), pick the one whose PIIX3 IDE timing register for this channel has decode
// enabled (read before reserving: AtaDisk.FindFunction) and reserve it — which gives this
// process the bus-master block (BAR4; this channel's registers at +0 or +8) and its IRQ —
// enable I/O decoding and bus mastering, pin one page-aligned region (the PRD table's page and
// a 128 KiB bounce buffer) with MAPDMA and have the IOMMU driver let the function reach exactly
// that region; (2) register the channel's IRQ with IRQCTL; (3) soft-reset the controller (a
// restarted driver finds it as the dead one left it, possibly in the middle of a command) and
// IDENTIFY the disk: its size from words 60–61, or 100–103 with LBA48 (word 83 bit 10).
// The legacy command and control ports and the IRQ of a channel in compatibility mode belong
// to no BAR: they come from the policy's `isa io`/`isa irq`, as in MINIX's at_wini policy
// (etc/drivers.conf: at_wini for the primary channel, at_wini1 for the secondary). Without DMA (no PCI grant, MAPDMA or IOMMU refusal, or `pio`) the
// driver runs in PIO; it says so on the console.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.AtWini;

public static class AtWiniDriver
{
    public static int Run(string[] args)
    {
        bool pio = false, secondary = false, channelGiven = false;
        long timeoutMs = 2000;
        BlockFaults? faults = null;
        foreach (string a in args.Skip(1))
        {
            if (a == "pio") pio = true;
            else if (a is "channel=primary" or "channel=secondary" && !channelGiven)
                (secondary, channelGiven) = (a == "channel=secondary", true);
            else if (BlockFaults.IsArgument(a))
            {
                string why = $"bad argument '{a}': a second fault= argument";
                if (faults is not null || !BlockFaults.TryParse(a, out faults, out why))
                {
                    SysCall.Diag($"at_wini: {why}");
                    return 2;
                }
            }
            else if (a.StartsWith("timeout=", StringComparison.Ordinal)
                     && long.TryParse(a.AsSpan(8), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ms)
                     && ms is > 0 and <= 60_000)
                timeoutMs = ms;
            else
            {
                SysCall.Diag($"at_wini: bad argument '{a}' (want: channel=primary|secondary, pio, timeout=MS, fault=KIND[,every=N][,minor=M])");
                return 2;
            }
        }
        return new BlockDriver(new AtaDisk(pio, timeoutMs * 1_000_000, secondary)) { Faults = faults }.Run(Channel.Current.Name);
    }
}
