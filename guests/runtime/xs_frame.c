/* xenstore ring framing (pure; also compiled for the host unit tests). The peer (xenstored)
 * is not trusted: its index is read once per call and checked before any byte is copied. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/xs_frame.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

int xs_ring_write(struct xenstore_domain_interface *intf, const void *data, size_t len)
{
    XENSTORE_RING_IDX cons = LOAD(intf->req_cons);
    XENSTORE_RING_IDX prod = intf->req_prod;
    if ((XENSTORE_RING_IDX)(prod - cons) > XENSTORE_RING_SIZE)
        return -XEN_EIO;
    size_t room = XENSTORE_RING_SIZE - (prod - cons);
    size_t n = len < room ? len : room;
    const char *src = data;
    for (size_t i = 0; i < n; i++)
        intf->req[MASK_XENSTORE_IDX(prod + i)] = src[i];
    STORE(intf->req_prod, prod + (XENSTORE_RING_IDX)n); /* release: data before index */
    return (int)n;
}

int xs_ring_read(struct xenstore_domain_interface *intf, void *data, size_t len)
{
    XENSTORE_RING_IDX prod = LOAD(intf->rsp_prod); /* acquire: index before data */
    XENSTORE_RING_IDX cons = intf->rsp_cons;
    if ((XENSTORE_RING_IDX)(prod - cons) > XENSTORE_RING_SIZE)
        return -XEN_EIO;
    size_t avail = prod - cons;
    size_t n = len < avail ? len : avail;
    char *dst = data;
    for (size_t i = 0; i < n; i++)
        dst[i] = intf->rsp[MASK_XENSTORE_IDX(cons + i)];
    STORE(intf->rsp_cons, cons + (XENSTORE_RING_IDX)n); /* data copied before we free it */
    return (int)n;
}

uint32_t xs_ring_rsp_avail(const struct xenstore_domain_interface *intf)
{
    XENSTORE_RING_IDX d = LOAD(intf->rsp_prod) - LOAD(intf->rsp_cons);
    return d > XENSTORE_RING_SIZE ? 0 : d;
}

uint32_t xs_ring_req_room(const struct xenstore_domain_interface *intf)
{
    XENSTORE_RING_IDX d = LOAD(intf->req_prod) - LOAD(intf->req_cons);
    return d > XENSTORE_RING_SIZE ? 0 : XENSTORE_RING_SIZE - d;
}

int xs_msg_build(void *buf, size_t cap, uint32_t type, uint32_t req_id, uint32_t tx_id,
                 const char *const *parts, unsigned nparts, bool last_nul)
{
    size_t len = 0;
    for (unsigned i = 0; i < nparts; i++) {
        size_t l = 0;
        while (parts[i][l])
            l++;
        len += l + (i + 1 < nparts || last_nul ? 1 : 0);
    }
    if (len > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;
    if (cap < sizeof(struct xsd_sockmsg) + len)
        return -XEN_ENOSPC;
    struct xsd_sockmsg hdr = {.type = type, .req_id = req_id, .tx_id = tx_id, .len = (uint32_t)len};
    char *out = buf;
    const char *h = (const char *)&hdr;
    for (size_t i = 0; i < sizeof(hdr); i++)
        *out++ = h[i];
    for (unsigned i = 0; i < nparts; i++) {
        for (const char *s = parts[i]; *s; s++)
            *out++ = *s;
        if (i + 1 < nparts || last_nul)
            *out++ = '\0';
    }
    return (int)(sizeof(hdr) + len);
}

int xs_rx_feed(struct xs_rx *rx, struct xenstore_domain_interface *intf)
{
    const size_t hlen = sizeof(rx->hdr);
    if (rx->have < hlen) {
        int n = xs_ring_read(intf, (char *)&rx->hdr + rx->have, hlen - rx->have);
        if (n < 0)
            return n;
        rx->have += (size_t)n;
        if (rx->have < hlen)
            return 0;
        if (rx->hdr.len > XENSTORE_PAYLOAD_MAX)
            return -XEN_EBADMSG;
    }
    size_t want = hlen + rx->hdr.len;
    if (rx->have < want) {
        int n = xs_ring_read(intf, rx->payload + (rx->have - hlen), want - rx->have);
        if (n < 0)
            return n;
        rx->have += (size_t)n;
        if (rx->have < want)
            return 0;
    }
    rx->payload[rx->hdr.len] = '\0';
    return 1;
}

void xs_rx_reset(struct xs_rx *rx)
{
    rx->have = 0;
}

static const struct {
    const char *name;
    int err;
} xs_errnames[] = {
    {"EINVAL", XEN_EINVAL}, {"EACCES", XEN_EACCES},   {"EEXIST", XEN_EEXIST},
    {"EISDIR", XEN_EISDIR}, {"ENOENT", XEN_ENOENT},   {"ENOMEM", XEN_ENOMEM},
    {"ENOSPC", XEN_ENOSPC}, {"EIO", XEN_EIO},         {"ENOTEMPTY", XEN_ENOTEMPTY},
    {"ENOSYS", XEN_ENOSYS}, {"EROFS", XEN_EROFS},     {"EBUSY", XEN_EBUSY},
    {"EAGAIN", XEN_EAGAIN}, {"EISCONN", XEN_EISCONN}, {"E2BIG", XEN_E2BIG},
    {"EPERM", XEN_EPERM},
};

int xs_error_to_errno(const char *payload, size_t len)
{
    for (unsigned i = 0; i < sizeof(xs_errnames) / sizeof(xs_errnames[0]); i++) {
        const char *n = xs_errnames[i].name;
        size_t l = 0;
        while (n[l])
            l++;
        /* The name may or may not carry its NUL inside len. */
        if ((len == l || (len == l + 1 && payload[l] == '\0')) &&
            __builtin_memcmp(payload, n, l) == 0)
            return -xs_errnames[i].err;
    }
    return -XEN_EIO;
}

int xs_parse_watch_event(const char *payload, size_t len, const char **path, const char **token)
{
    size_t i = 0;
    while (i < len && payload[i])
        i++;
    if (i == 0 || i >= len)
        return -XEN_EBADMSG;
    size_t t = i + 1, j = t;
    while (j < len && payload[j])
        j++;
    if (j >= len) /* the token must be NUL-terminated inside the payload */
        return -XEN_EBADMSG;
    *path = payload;
    *token = payload + t;
    return 0;
}
