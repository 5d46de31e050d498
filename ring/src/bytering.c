/* Byte-stream rings (console, xenstore) with untrusted indices. See kxen/ring_safe.h.
 * Both indices live in shared memory, so even "our" index may have been changed by the peer:
 * each is read once, and a pair further apart than the ring size kills the ring. */
#include <errno.h>

#include <kxen/ring_safe.h>

static int bytering_ok(const struct kxen_bytering *r)
{
    return r && r->buf && r->cons && r->prod && r->size && !(r->size & (r->size - 1));
}

static ssize_t bytering_kill(struct kxen_ring_guard *g, uint32_t prod, uint32_t cons, uint32_t size)
{
    g->dead = 1;
    g->err = -EPROTO;
    g->reason = "byte ring indices are further apart than the ring size";
    g->prod = prod;
    g->cons = cons;
    g->size = size;
    return g->err;
}

/* Reads both indices once; returns bytes filled or a negative errno. */
static ssize_t load_indices(const struct kxen_bytering *r, struct kxen_ring_guard *g,
                            uint32_t *prod, uint32_t *cons)
{
    if (!g || !bytering_ok(r))
        return -EINVAL;
    if (g->dead)
        return g->err;
    *cons = *r->cons;
    *prod = *r->prod;
    xen_mb(); /* data accesses come after the index loads */
    uint32_t used = *prod - *cons;
    if (used > r->size)
        return bytering_kill(g, *prod, *cons, r->size);
    return used;
}

ssize_t kxen_bytering_avail(const struct kxen_bytering *r, struct kxen_ring_guard *g)
{
    uint32_t prod, cons;
    return load_indices(r, g, &prod, &cons);
}

ssize_t kxen_bytering_read(const struct kxen_bytering *r, void *dst, size_t len,
                           struct kxen_ring_guard *g)
{
    uint32_t prod, cons;
    ssize_t used = load_indices(r, g, &prod, &cons);
    if (used < 0)
        return used;
    if (!dst && len)
        return -EINVAL;
    size_t n = (size_t)used < len ? (size_t)used : len;
    char *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = r->buf[(cons + i) & (r->size - 1)];
    xen_mb(); /* finish reading the bytes before handing the space back */
    *r->cons = cons + (uint32_t)n;
    return (ssize_t)n;
}

ssize_t kxen_bytering_write(const struct kxen_bytering *r, const void *src, size_t len,
                            struct kxen_ring_guard *g)
{
    uint32_t prod, cons;
    ssize_t used = load_indices(r, g, &prod, &cons);
    if (used < 0)
        return used;
    if (!src && len)
        return -EINVAL;
    size_t space = r->size - (size_t)used;
    size_t n = space < len ? space : len;
    const char *s = src;
    for (size_t i = 0; i < n; i++)
        r->buf[(prod + i) & (r->size - 1)] = s[i];
    xen_wmb(); /* bytes visible before the index that publishes them */
    *r->prod = prod + (uint32_t)n;
    return (ssize_t)n;
}
