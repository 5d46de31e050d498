/* Shared by the emulated I/O dispatch tests: a soft domain that is built but never started
 * (callbacks are driven by calling io_port_access/io_mmio_access directly, from as many
 * threads as a test wants) and a fake device that answers with its tag and the offset. */
#ifndef TEST_KXEND_IO_H
#define TEST_KXEND_IO_H

#include <criterion/criterion.h>
#include <stdatomic.h>

#include "../kxend/core.h"
#include "kxend/io.h"

struct fake_dev {
    uint64_t tag;
    struct io_region *r;
    _Atomic bool alive;    /* cleared by a test once the region's unregister returned */
    _Atomic unsigned late; /* callbacks that ran (or were still running) after that */
    _Atomic unsigned calls;
    _Atomic uint64_t last_write, last_offset, last_size;
    unsigned spin; /* busy-wait iterations inside each callback */
    /* Runs inside the write callback when set (a device reprogramming regions). */
    void (*on_write)(struct fake_dev *dev, uint64_t offset, uint64_t val);
    void *ctx;
};

/* Port reads answer tag << 16 | offset, MMIO reads tag << 32 | offset. */
#define FAKE_PORT_VAL(tag, off) ((uint32_t)(((tag) << 16) | (off)))
#define FAKE_MMIO_VAL(tag, off) (((uint64_t)(tag) << 32) | (off))

static inline void fake_spin(const struct fake_dev *dev)
{
    for (volatile unsigned i = 0; i < dev->spin; i++)
        ;
}

static inline void fake_enter(struct fake_dev *dev, uint64_t offset, unsigned size)
{
    atomic_fetch_add(&dev->calls, 1);
    if (!atomic_load(&dev->alive))
        atomic_fetch_add(&dev->late, 1);
    atomic_store(&dev->last_offset, offset);
    atomic_store(&dev->last_size, size);
    fake_spin(dev);
}

static inline void fake_leave(struct fake_dev *dev)
{
    if (!atomic_load(&dev->alive))
        atomic_fetch_add(&dev->late, 1);
}

static inline uint64_t fake_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fake_dev *dev = opaque;
    fake_enter(dev, offset, size);
    uint64_t v = FAKE_PORT_VAL(dev->tag, offset);
    fake_leave(dev);
    return v;
}

static inline uint64_t fake_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fake_dev *dev = opaque;
    fake_enter(dev, offset, size);
    uint64_t v = FAKE_MMIO_VAL(dev->tag, offset);
    fake_leave(dev);
    return v;
}

static inline void fake_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct fake_dev *dev = opaque;
    fake_enter(dev, offset, size);
    atomic_store(&dev->last_write, val);
    if (dev->on_write)
        dev->on_write(dev, offset, val);
    fake_leave(dev);
}

static const struct io_region_ops fake_port_ops = {"fake-port", fake_port_read, fake_write};
static const struct io_region_ops fake_mmio_ops = {"fake-mmio", fake_mmio_read, fake_write};

static inline void fake_init(struct fake_dev *dev, uint64_t tag)
{
    *dev = (struct fake_dev){.tag = tag};
    atomic_store(&dev->alive, true);
}

static inline struct domain *io_test_domain(const char *name)
{
    struct domain *d;
    kxend_accel = accel_find("soft");
    struct domain_config cfg = {.name = name, .ram_bytes = 1ull << 20, .nr_vcpus = 2};
    cr_assert_eq(domain_create(&cfg, &d), 0);
    return d;
}

static inline void io_test_domain_free(struct domain *d)
{
    domain_destroy(d);
    domain_put(d);
}

static inline uint32_t port_in(struct domain *d, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    io_port_access(d->vcpus[0], port, size, false, &v);
    return v;
}

static inline uint64_t mmio_in(struct domain *d, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;
    io_mmio_access(d->vcpus[0], gpa, size, false, &v);
    return v;
}

#endif
