/* Backend side of the PV console ring, over libkxenring's byte-stream helpers (the one
 * hostile-peer ring code that ships). The layout and free-running-index rule are Xen's
 * (io/console.h); both indices live in the guest's page, so each call reads them once into
 * locals, and indices further apart than the ring close the console (-EPROTO). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/ring_safe.h>

#include "cons_ring.h"

/* Each call gets a fresh guard: a violation is reported to the caller, which closes the
 * console, so no state has to outlive the call. */
ssize_t cons_ring_read_out(void *page, char *buf, size_t cap)
{
    struct kxen_bytering out = kxen_bytering_cons_out(page);
    struct kxen_ring_guard g = {0};
    return kxen_bytering_read(&out, buf, cap, &g);
}

ssize_t cons_ring_write_in(void *page, const char *buf, size_t len)
{
    struct kxen_bytering in = kxen_bytering_cons_in(page);
    struct kxen_ring_guard g = {0};
    return kxen_bytering_write(&in, buf, len, &g);
}

int cons_history_init(struct cons_history *h, size_t cap)
{
    memset(h, 0, sizeof(*h));
    h->buf = malloc(cap);
    if (!h->buf)
        return -ENOMEM;
    h->cap = cap;
    return 0;
}

void cons_history_free(struct cons_history *h)
{
    free(h->buf);
    memset(h, 0, sizeof(*h));
}

void cons_history_add(struct cons_history *h, const char *data, size_t len)
{
    if (len >= h->cap) {
        data += len - h->cap;
        len = h->cap;
    }
    for (size_t i = 0; i < len; i++) {
        h->buf[h->head] = data[i];
        h->head = (h->head + 1) % h->cap;
    }
    h->len = h->len + len > h->cap ? h->cap : h->len + len;
}

size_t cons_history_copy(const struct cons_history *h, char *out)
{
    size_t start = (h->head + h->cap - h->len) % h->cap;
    for (size_t i = 0; i < h->len; i++)
        out[i] = h->buf[(start + i) % h->cap];
    return h->len;
}
