/* Byte-stream rings (console, xenstore) with untrusted indices. See kxen/ring_safe.h.
 * read/write: both indices live in shared memory, so even "our" index may have been changed by
 * the peer: each is read once, and a pair further apart than the ring size kills the ring.
 * consume/produce: our index is the caller's private copy; only the peer's is read, once. */
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

/* Reads the peer's index once and checks it against our private one; returns the bytes
 * between them (readable for a consumer, in flight for a producer) or a negative errno. */
static ssize_t load_peer(const struct kxen_bytering *r, struct kxen_ring_guard *g,
                         volatile uint32_t *peer, uint32_t own, int own_is_prod)
{
    if (!g || !bytering_ok(r))
        return -EINVAL;
    if (g->dead)
        return g->err;
    uint32_t theirs = *peer;
    xen_mb(); /* data accesses come after the index load */
    uint32_t prod = own_is_prod ? own : theirs, cons = own_is_prod ? theirs : own;
    uint32_t used = prod - cons;
    /* Buggy or malicious peer: its index claims more than a ring's worth of bytes. */
    if (used > r->size)
        return bytering_kill(g, prod, cons, r->size);
    return used;
}

ssize_t kxen_bytering_consume(const struct kxen_bytering *r, uint32_t *own, void *dst, size_t len,
                              struct kxen_ring_guard *g)
{
    if (!own || (!dst && len))
        return -EINVAL;
    ssize_t used = load_peer(r, g, r ? r->prod : NULL, *own, 0);
    if (used < 0)
        return used;
    uint32_t cons = *own;
    size_t n = (size_t)used < len ? (size_t)used : len;
    char *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = r->buf[(cons + i) & (r->size - 1)];
    if (n) {
        xen_mb(); /* finish reading the bytes before handing the space back */
        *own = cons + (uint32_t)n;
        *r->cons = *own;
    }
    return (ssize_t)n;
}

ssize_t kxen_bytering_produce(const struct kxen_bytering *r, uint32_t *own, const void *src,
                              size_t len, struct kxen_ring_guard *g)
{
    if (!own || (!src && len))
        return -EINVAL;
    ssize_t used = load_peer(r, g, r ? r->cons : NULL, *own, 1);
    if (used < 0)
        return used;
    uint32_t prod = *own;
    size_t space = r->size - (size_t)used;
    size_t n = space < len ? space : len;
    const char *s = src;
    for (size_t i = 0; i < n; i++)
        r->buf[(prod + i) & (r->size - 1)] = s[i];
    if (n) {
        xen_wmb(); /* bytes visible before the index that publishes them */
        *own = prod + (uint32_t)n;
        *r->prod = *own;
    }
    return (ssize_t)n;
}
