/* Per-domain emulated I/O dispatch (contract in io.h). Each domain's port and MMIO spaces are
 * arrays of non-overlapping ranges sorted by base, searched in O(log n) under the domain's io
 * lock; the lock is never held while a device callback runs.
 *
 * Invariants: a region is in its space's array exactly while it is registered; its refs count
 * one for the registration plus one per callback in flight, and the thread that drops the last
 * reference frees it. A callback reference is only taken under the lock while the region is in
 * the array, so once unregister has removed it the count can only fall. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kxend/accel.h"
#include "kxend/io.h"
#include "kxend/subsys.h"

struct io_domain;

struct io_entry {
    uint64_t base, last; /* inclusive: a range may end at the top of the address space */
    struct io_region *r;
};

struct io_space {
    struct io_entry *e;
    size_t nr, cap;
    /* nr as seen without the lock: a domain with no region in a space (every PV guest)
     * answers unclaimed accesses without touching the lock. */
    _Atomic size_t nr_seen;
    uint64_t top; /* highest address of the space */
};

struct io_domain {
    pthread_mutex_t lock; /* the arrays and every region's base */
    pthread_cond_t idle;  /* broadcast when a callback ends while someone waits */
    _Atomic unsigned waiters;
    struct io_space port, mmio;
};

struct io_region {
    struct io_domain *io;
    struct io_space *space;
    const struct io_region_ops *ops;
    void *opaque;
    uint64_t base, len;
    _Atomic unsigned refs;
};

/* The callbacks running on this thread, innermost first: unregister must not wait for the
 * caller's own callback (a device removing itself from inside its handler). */
struct io_frame {
    const struct io_region *r;
    const struct io_frame *up;
};
static _Thread_local const struct io_frame *io_frames;

/* Index of the first entry whose base is above addr. */
static size_t first_above(const struct io_space *s, uint64_t addr)
{
    size_t lo = 0, hi = s->nr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct io_entry *find(const struct io_space *s, uint64_t addr)
{
    size_t i = first_above(s, addr);
    return i > 0 && addr <= s->e[i - 1].last ? &s->e[i - 1] : NULL;
}

/* Does [base, last] overlap a region other than self? Only the nearest entry starting at or
 * below last can: the ranges are sorted and disjoint, so it ends highest of them. */
static bool overlaps(const struct io_space *s, uint64_t base, uint64_t last,
                     const struct io_region *self)
{
    for (size_t i = first_above(s, last); i > 0; i--)
        if (s->e[i - 1].r != self)
            return s->e[i - 1].last >= base;
    return false;
}

static bool range_valid(const struct io_space *s, uint64_t base, uint64_t len)
{
    return len != 0 && len - 1 <= s->top && base <= s->top - (len - 1);
}

/* Inserts r at its place; the caller made room (cap > nr). */
static void space_insert(struct io_space *s, struct io_region *r)
{
    size_t i = first_above(s, r->base);
    memmove(&s->e[i + 1], &s->e[i], (s->nr - i) * sizeof(s->e[0]));
    s->e[i] = (struct io_entry){r->base, r->base + (r->len - 1), r};
    s->nr++;
}

static void space_remove(struct io_space *s, const struct io_region *r)
{
    size_t i = first_above(s, r->base) - 1; /* r is registered: e[i] is r */
    memmove(&s->e[i], &s->e[i + 1], (s->nr - i - 1) * sizeof(s->e[0]));
    s->nr--;
}

static void region_put(struct io_region *r)
{
    struct io_domain *io = r->io; /* r may be freed by its unregister once refs drops */
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        free(r);
        return;
    }
    /* Pairs with unregister: it raises waiters before reading refs, we read waiters after
     * dropping refs, so one of us sees the other (both sequentially consistent). */
    if (atomic_load(&io->waiters)) {
        pthread_mutex_lock(&io->lock);
        pthread_cond_broadcast(&io->idle);
        pthread_mutex_unlock(&io->lock);
    }
}

static int add(struct domain *d, bool mmio, uint64_t base, uint64_t len,
               const struct io_region_ops *ops, void *opaque, struct io_region **out)
{
    struct io_domain *io = d->io;
    *out = NULL;
    if (!io)
        return -ENODEV;
    struct io_space *s = mmio ? &io->mmio : &io->port;
    if (!range_valid(s, base, len) || !ops || !ops->read || !ops->write)
        return -EINVAL;
    struct io_region *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    *r = (struct io_region){
        .io = io, .space = s, .ops = ops, .opaque = opaque, .base = base, .len = len};
    atomic_init(&r->refs, 1);

    pthread_mutex_lock(&io->lock);
    int rc = 0;
    if (overlaps(s, base, base + (len - 1), NULL)) {
        rc = -EEXIST;
    } else if (s->nr == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        struct io_entry *n = realloc(s->e, nc * sizeof(*n));
        if (n) {
            s->e = n;
            s->cap = nc;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0) {
        space_insert(s, r);
        atomic_store(&s->nr_seen, s->nr);
    }
    pthread_mutex_unlock(&io->lock);
    if (rc < 0)
        free(r);
    else
        *out = r;
    return rc;
}

int io_register_port(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out)
{
    return add(d, false, base, len, ops, opaque, out);
}

int io_register_mmio(struct domain *d, uint64_t base, uint64_t len, const struct io_region_ops *ops,
                     void *opaque, struct io_region **out)
{
    return add(d, true, base, len, ops, opaque, out);
}

void io_region_unregister(struct io_region *r)
{
    if (!r)
        return;
    struct io_domain *io = r->io;
    unsigned own = 0;
    for (const struct io_frame *f = io_frames; f; f = f->up)
        own += f->r == r;
    pthread_mutex_lock(&io->lock);
    space_remove(r->space, r);
    atomic_store(&r->space->nr_seen, r->space->nr);
    /* No new callback can start now; wait for those on other threads. */
    atomic_fetch_add(&io->waiters, 1);
    while (atomic_load(&r->refs) > 1 + own)
        pthread_cond_wait(&io->idle, &io->lock);
    atomic_fetch_sub(&io->waiters, 1);
    pthread_mutex_unlock(&io->lock);
    region_put(r); /* with own > 0 the last of the caller's callbacks frees it */
}

int io_region_move(struct io_region *r, uint64_t new_base)
{
    struct io_domain *io = r->io;
    struct io_space *s = r->space;
    if (!range_valid(s, new_base, r->len))
        return -EINVAL;
    pthread_mutex_lock(&io->lock);
    if (overlaps(s, new_base, new_base + (r->len - 1), r)) {
        pthread_mutex_unlock(&io->lock);
        return -EEXIST;
    }
    /* One critical section: lookups see the old place or the new one, never neither. */
    space_remove(s, r);
    r->base = new_base;
    space_insert(s, r);
    pthread_mutex_unlock(&io->lock);
    return 0;
}

uint64_t io_region_base(const struct io_region *r)
{
    pthread_mutex_lock(&r->io->lock);
    uint64_t base = r->base;
    pthread_mutex_unlock(&r->io->lock);
    return base;
}

/* Runs the callback of the region holding addr; false when nothing claims it. */
static bool dispatch(struct domain *d, bool mmio, uint64_t addr, unsigned size, bool write,
                     uint64_t *val)
{
    struct io_domain *io = d->io;
    if (!io)
        return false;
    struct io_space *s = mmio ? &io->mmio : &io->port;
    if (atomic_load_explicit(&s->nr_seen, memory_order_relaxed) == 0)
        return false;
    pthread_mutex_lock(&io->lock);
    const struct io_entry *e = find(s, addr);
    if (!e) {
        pthread_mutex_unlock(&io->lock);
        return false;
    }
    struct io_region *r = e->r;
    uint64_t offset = addr - e->base;
    atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&io->lock);

    struct io_frame f = {r, io_frames};
    io_frames = &f;
    if (write)
        r->ops->write(r->opaque, offset, size, *val);
    else
        *val = r->ops->read(r->opaque, offset, size);
    io_frames = f.up;
    region_put(r);
    return true;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

void io_port_access(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *val)
{
    uint32_t mask = (uint32_t)size_mask(size);
    uint64_t v64 = *val & mask;
    bool sized = size == 1 || size == 2 || size == 4;
    if (sized && dispatch(v->dom, false, port, size, write, &v64)) {
        if (!write)
            *val = (uint32_t)v64 & mask;
    } else if (!write) {
        *val = mask;
    }
}

void io_mmio_access(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
    uint64_t mask = size_mask(size);
    uint64_t v64 = *val & mask;
    bool sized = size == 1 || size == 2 || size == 4 || size == 8;
    if (sized && dispatch(v->dom, true, gpa, size, write, &v64)) {
        if (!write)
            *val = v64 & mask;
    } else if (!write) {
        *val = mask;
    }
}

static int io_domain_init(struct domain *d)
{
    struct io_domain *io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    pthread_mutex_init(&io->lock, NULL);
    pthread_cond_init(&io->idle, NULL);
    io->port.top = IO_PORT_SPACE_SIZE - 1;
    io->mmio.top = UINT64_MAX;
    d->io = io;
    return 0;
}

/* After every vCPU has stopped: no callback is in flight, leftover regions are freed. */
static void io_domain_destroy(struct domain *d)
{
    struct io_domain *io = d->io;
    if (!io)
        return;
    struct io_space *spaces[] = {&io->port, &io->mmio};
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < spaces[i]->nr; j++)
            free(spaces[i]->e[j].r);
        free(spaces[i]->e);
    }
    pthread_cond_destroy(&io->idle);
    pthread_mutex_destroy(&io->lock);
    free(io);
    d->io = NULL;
}

static const struct domain_subsys io_subsys = {
    .name = "io",
    .order = SUBSYS_ORDER_IO,
    .init = io_domain_init,
    .destroy = io_domain_destroy,
};
DOMAIN_SUBSYS_REGISTER(io_subsys);
