/* Emulated I/O dispatch: device models (an HVM guest's UART, IDE, NIC, PCI; platform devices)
 * claim port and MMIO ranges of one domain through an ops struct; the accelerators' exits
 * reach them through io_port_access()/io_mmio_access() (accel.h). The core never names a
 * device. Each domain has two address spaces, ports (0..0xffff) and MMIO (64-bit guest
 * physical), created and destroyed with the domain as the SUBSYS_ORDER_IO subsystem.
 *
 * Contract:
 * - Regions of one space never overlap; an access goes to the region holding its first byte,
 *   found in O(log n). Unclaimed reads return all ones, unclaimed writes are dropped (as on
 *   real hardware).
 * - Access sizes are 1, 2, 4 for ports and 1, 2, 4, 8 for MMIO; any other size is treated as
 *   unclaimed. An access that runs past the end of its region is given whole to that region
 *   (offset + size > length): a device that cares checks it, nothing is split.
 * - Callbacks run on the accessing vCPU's thread, concurrently for different vCPUs (also for
 *   the same region), with no io lock held: they may register, unregister and move regions,
 *   their own included.
 * - io_region_unregister() returns only when no callback of the region runs any more on
 *   another thread; from inside one of the region's own callbacks it does not wait for that
 *   callback (the handle stays valid until it returns). After it returns no new callback of
 *   the region starts, so the device may free its state. Two callbacks on two threads must not
 *   unregister each other's regions at the same moment: each would wait for the other.
 * - io_region_move() is atomic for lookups: every access sees the region either at its old or
 *   at its new base, never at neither; it does not wait for callbacks in flight (they were
 *   started at the old base and got offsets relative to it), so it is safe from any callback.
 * - Regions still registered when the domain is destroyed are freed with it (after every vCPU
 *   has stopped); their handles are invalid afterwards. */
#ifndef KXEND_IO_H
#define KXEND_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"

#define IO_PORT_SPACE_SIZE 0x10000u

struct io_region_ops {
    const char *name;
    /* offset is relative to the region's current base; val is masked to size bytes. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t val);
};

struct io_region; /* handle owned by io.c */

/* Claims [base, base + len) and returns the handle in *out. 0, -EINVAL (len 0, the range
 * wraps or a port range passes 0xffff, ops or a callback NULL), -EEXIST (overlaps a region),
 * -ENODEV (the domain has no I/O space), -ENOMEM. */
int io_register_port(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out);
int io_register_mmio(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out);

/* Removes the region and frees the handle (see the contract above); NULL is a no-op. */
void io_region_unregister(struct io_region *r);

/* Moves the region to new_base, keeping its length: 0, -EINVAL (the new range wraps or passes
 * 0xffff), -EEXIST (it overlaps another region; the region stays where it was). The new range
 * may overlap the region's own old range. */
int io_region_move(struct io_region *r, uint64_t new_base);

/* The region's current base (for a device that reprograms it relative to itself). */
uint64_t io_region_base(const struct io_region *r);

#endif
