/* Port I/O and MMIO dispatch to emulated devices registered per domain. Unclaimed reads
 * return all ones and unclaimed writes are dropped, as on real hardware. */
#include <errno.h>
#include <stdlib.h>

#include "kxend/accel.h"
#include "kxend/io.h"

struct io_region {
    struct domain *d;
    uint64_t base, len;
    bool mmio;
    const struct io_region_ops *ops;
    void *opaque;
};

static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static struct io_region *regions;
static size_t nr_regions, cap_regions;

static int add(struct domain *d, uint64_t base, uint64_t len, bool mmio,
               const struct io_region_ops *ops, void *opaque)
{
    if (len == 0 || base + len < base || !ops)
        return -EINVAL;
    pthread_mutex_lock(&io_lock);
    for (size_t i = 0; i < nr_regions; i++) {
        struct io_region *r = &regions[i];
        if (r->d == d && r->mmio == mmio && base < r->base + r->len && r->base < base + len) {
            pthread_mutex_unlock(&io_lock);
            return -EEXIST;
        }
    }
    if (nr_regions == cap_regions) {
        size_t nc = cap_regions ? cap_regions * 2 : 16;
        struct io_region *n = realloc(regions, nc * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&io_lock);
            return -ENOMEM;
        }
        regions = n;
        cap_regions = nc;
    }
    regions[nr_regions++] = (struct io_region){d, base, len, mmio, ops, opaque};
    pthread_mutex_unlock(&io_lock);
    return 0;
}

int io_register_port(struct domain *d, uint16_t base, uint16_t len, const struct io_region_ops *ops,
                     void *opaque)
{
    if ((uint32_t)base + len > 0x10000)
        return -EINVAL;
    return add(d, base, len, false, ops, opaque);
}

int io_register_mmio(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque)
{
    return add(d, base, len, true, ops, opaque);
}

void io_unregister_all(struct domain *d)
{
    pthread_mutex_lock(&io_lock);
    size_t j = 0;
    for (size_t i = 0; i < nr_regions; i++)
        if (regions[i].d != d)
            regions[j++] = regions[i];
    nr_regions = j;
    if (nr_regions == 0) {
        free(regions);
        regions = NULL;
        cap_regions = 0;
    }
    pthread_mutex_unlock(&io_lock);
}

/* Finds the region and copies it out so the callback runs without io_lock held. */
static bool lookup(struct domain *d, uint64_t addr, bool mmio, struct io_region *out)
{
    bool found = false;
    pthread_mutex_lock(&io_lock);
    for (size_t i = 0; i < nr_regions; i++) {
        struct io_region *r = &regions[i];
        if (r->d == d && r->mmio == mmio && addr >= r->base && addr - r->base < r->len) {
            *out = *r;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&io_lock);
    return found;
}

void io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    struct io_region r;
    uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    if (!lookup(v->dom, port, false, &r)) {
        if (!write)
            *val = mask;
        return;
    }
    if (write)
        r.ops->write(r.opaque, port - r.base, size, *val & mask);
    else
        *val = (uint32_t)r.ops->read(r.opaque, port - r.base, size) & mask;
}

void io_mmio_access(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    struct io_region r;
    uint64_t mask = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    if (!lookup(v->dom, gpa, true, &r)) {
        if (!write)
            *val = mask;
        return;
    }
    if (write)
        r.ops->write(r.opaque, gpa - r.base, size, *val & mask);
    else
        *val = r.ops->read(r.opaque, gpa - r.base, size) & mask;
}
