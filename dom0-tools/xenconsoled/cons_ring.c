/* Backend side of the PV console ring. The layout and free-running-index rule are Xen's
 * (io/console.h); indices are read once per call into locals because the guest may change
 * them at any time, and a producer more than a ring ahead of its consumer closes the console. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/io/console.h"
#include "kxen/io/ring.h"

#include "cons_ring.h"

ssize_t cons_ring_read_out(void *page, char *buf, size_t cap)
{
    struct xencons_interface *intf = page;
    volatile XENCONS_RING_IDX *pcons = &intf->out_cons, *pprod = &intf->out_prod;
    XENCONS_RING_IDX cons = *pcons;
    XENCONS_RING_IDX prod = *pprod;
    xen_rmb(); /* read the data only after the producer index that covers it */
    XENCONS_RING_IDX avail = prod - cons;
    if (avail > sizeof(intf->out))
        return -EPROTO;
    size_t n = 0;
    while (n < cap && cons != prod) {
        buf[n++] = intf->out[MASK_XENCONS_IDX(cons, intf->out)];
        cons++;
    }
    xen_mb(); /* the guest may reuse the slots once it sees the new consumer index */
    *pcons = cons;
    return (ssize_t)n;
}

ssize_t cons_ring_write_in(void *page, const char *buf, size_t len)
{
    struct xencons_interface *intf = page;
    volatile XENCONS_RING_IDX *pcons = &intf->in_cons, *pprod = &intf->in_prod;
    XENCONS_RING_IDX cons = *pcons;
    XENCONS_RING_IDX prod = *pprod;
    xen_mb();
    if ((XENCONS_RING_IDX)(prod - cons) > sizeof(intf->in))
        return -EPROTO;
    size_t n = 0;
    while (n < len && (XENCONS_RING_IDX)(prod - cons) < sizeof(intf->in)) {
        intf->in[MASK_XENCONS_IDX(prod, intf->in)] = buf[n++];
        prod++;
    }
    xen_wmb(); /* data before the index that publishes it */
    *pprod = prod;
    return (ssize_t)n;
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
