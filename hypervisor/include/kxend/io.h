/* Emulated devices (HVM guests' UART, IDE, NIC, PCI; the platform device) register port and
 * MMIO ranges through an ops struct; the core never names a device. */
#ifndef KXEND_IO_H
#define KXEND_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "kxend/domain.h"

struct io_region_ops {
    const char *name;
    /* offset is relative to the region start. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t val);
};

/* Returns 0, -EEXIST on overlap, -ENOMEM. */
int io_register_port(struct domain *d, uint16_t base, uint16_t len, const struct io_region_ops *ops,
                     void *opaque);
int io_register_mmio(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque);
void io_unregister_all(struct domain *d);

#endif
