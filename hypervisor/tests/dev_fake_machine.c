/* The fake machine behind the device-model tests and fuzz target (dev_fake_machine.h): it
 * implements the kxend functions the models call, so the models link without the daemon. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kxend/guest_mem.h"
#include "kxend/irq.h"
#include "dev_fake_machine.h"

struct io_region {
    bool used, mmio;
    uint64_t base, len;
    const struct io_region_ops *ops;
    void *opaque;
};

#define FAKE_MAX_REGIONS 64
static struct io_region regions[FAKE_MAX_REGIONS];
static uint8_t fake_ram[FAKE_RAM_SIZE];
struct domain fake_dom;
bool fake_irq_level[32];
unsigned fake_irq_rises[32];
int fake_shutdown_reason;

void fake_machine_reset(void)
{
    memset(regions, 0, sizeof(regions));
    memset(fake_ram, 0, sizeof(fake_ram));
    memset(&fake_dom, 0, sizeof(fake_dom));
    fake_dom.ram = fake_ram;
    fake_dom.ram_size = FAKE_RAM_SIZE;
    memset(fake_irq_level, 0, sizeof(fake_irq_level));
    memset(fake_irq_rises, 0, sizeof(fake_irq_rises));
    fake_shutdown_reason = -1;
}

unsigned fake_io_count(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < FAKE_MAX_REGIONS; i++)
        n += regions[i].used;
    return n;
}

static struct io_region *find(bool mmio, uint64_t addr)
{
    for (unsigned i = 0; i < FAKE_MAX_REGIONS; i++) {
        struct io_region *r = &regions[i];
        if (r->used && r->mmio == mmio && addr >= r->base && addr - r->base < r->len)
            return r;
    }
    return NULL;
}

static bool overlaps(bool mmio, uint64_t base, uint64_t len, const struct io_region *self)
{
    for (unsigned i = 0; i < FAKE_MAX_REGIONS; i++) {
        const struct io_region *r = &regions[i];
        if (r != self && r->used && r->mmio == mmio && base < r->base + r->len &&
            r->base < base + len)
            return true;
    }
    return false;
}

static int reg(bool mmio, uint64_t base, uint64_t len, const struct io_region_ops *ops,
               void *opaque, struct io_region **out)
{
    *out = NULL;
    if (!len || base + len < base || (!mmio && base + len > IO_PORT_SPACE_SIZE) || !ops)
        return -EINVAL;
    if (overlaps(mmio, base, len, NULL))
        return -EEXIST;
    for (unsigned i = 0; i < FAKE_MAX_REGIONS; i++)
        if (!regions[i].used) {
            regions[i] = (struct io_region){true, mmio, base, len, ops, opaque};
            *out = &regions[i];
            return 0;
        }
    return -ENOMEM;
}

int io_register_port(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out)
{
    if (d != &fake_dom)
        abort();
    return reg(false, base, len, ops, opaque, out);
}

int io_register_mmio(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out)
{
    if (d != &fake_dom)
        abort();
    return reg(true, base, len, ops, opaque, out);
}

void io_region_unregister(struct io_region *r)
{
    if (r)
        r->used = false;
}

int io_region_move(struct io_region *r, uint64_t new_base)
{
    if (new_base + r->len < new_base || (!r->mmio && new_base + r->len > IO_PORT_SPACE_SIZE))
        return -EINVAL;
    if (overlaps(r->mmio, new_base, r->len, r))
        return -EEXIST;
    r->base = new_base;
    return 0;
}

uint64_t io_region_base(const struct io_region *r)
{
    return r->base;
}

static uint64_t mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

uint32_t pin(uint16_t port, unsigned size)
{
    struct io_region *r = find(false, port);
    return r ? (uint32_t)(r->ops->read(r->opaque, port - r->base, size) & mask(size))
             : (uint32_t)mask(size);
}

void pout(uint16_t port, unsigned size, uint32_t val)
{
    struct io_region *r = find(false, port);
    if (r)
        r->ops->write(r->opaque, port - r->base, size, val & mask(size));
}

uint64_t mmio_rd(uint64_t addr, unsigned size)
{
    struct io_region *r = find(true, addr);
    return r ? r->ops->read(r->opaque, addr - r->base, size) & mask(size) : mask(size);
}

void mmio_wr(uint64_t addr, unsigned size, uint64_t val)
{
    struct io_region *r = find(true, addr);
    if (r)
        r->ops->write(r->opaque, addr - r->base, size, val & mask(size));
}

int domain_irq_set_level(struct domain *d, unsigned gsi, bool level)
{
    if (d != &fake_dom)
        abort();
    if (gsi >= KXEN_NR_GSIS)
        return -EINVAL;
    if (level && !fake_irq_level[gsi])
        fake_irq_rises[gsi]++;
    fake_irq_level[gsi] = level;
    return 0;
}

/* The platform device's callback INTx: kxend's hvm_op.c drives it; the models' tests do not. */
int hvm_callback_intx_offer(struct domain *d, unsigned devfn, void (*set)(void *opaque, bool level),
                            void *opaque)
{
    (void)devfn, (void)set, (void)opaque;
    if (d != &fake_dom)
        abort();
    return 0;
}

void domain_shutdown(struct domain *d, unsigned reason)
{
    if (d != &fake_dom)
        abort();
    fake_shutdown_reason = (int)reason;
}

void *guest_phys_ptr(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (gpa > d->ram_size || len > d->ram_size - gpa)
        return NULL;
    return d->ram + gpa;
}

int copy_from_guest_phys(struct domain *d, void *dst, uint64_t gpa, size_t len)
{
    void *p = guest_phys_ptr(d, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int copy_to_guest_phys(struct domain *d, uint64_t gpa, const void *src, size_t len)
{
    void *p = guest_phys_ptr(d, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

void guest_mark_dirty(struct domain *d, uint64_t gpa, uint64_t len)
{
    (void)d, (void)gpa, (void)len;
}

uint32_t pci_cfg_rd(unsigned devfn, unsigned reg, unsigned size)
{
    pout(0xcf8, 4, 0x80000000u | devfn << 8 | (reg & 0xfc));
    return pin(0xcfc + (reg & 3), size);
}

void pci_cfg_wr(unsigned devfn, unsigned reg, unsigned size, uint32_t val)
{
    pout(0xcf8, 4, 0x80000000u | devfn << 8 | (reg & 0xfc));
    pout(0xcfc + (reg & 3), size, val);
}
