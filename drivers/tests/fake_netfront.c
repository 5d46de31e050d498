/* The fake netfront (see fake_netfront.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fake_netfront.h"

void nf_toolstack_add(struct fake_platform *fp, uint32_t domid, uint32_t devid, const char *mac,
                      const char *bridge)
{
    char be[128], fe[128];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", domid, devid);
    fake_xs_printf(fp, fe, "backend", "%s", be);
    fake_xs_printf(fp, fe, "backend-id", "0");
    fake_xs_printf(fp, fe, "state", "1");
    fake_xs_printf(fp, fe, "handle", "%u", devid);
    fake_xs_printf(fp, fe, "mac", "%s", mac);
    fake_xs_printf(fp, fe, "trusted", "1");
    fake_xs_printf(fp, be, "frontend-id", "%u", domid);
    fake_xs_printf(fp, be, "online", "1");
    fake_xs_printf(fp, be, "state", "1");
    fake_xs_printf(fp, be, "script", "/etc/xen/scripts/vif-bridge");
    fake_xs_printf(fp, be, "mac", "%s", mac);
    if (bridge)
        fake_xs_printf(fp, be, "bridge", "%s", bridge);
    fake_xs_printf(fp, be, "handle", "%u", devid);
    fake_xs_printf(fp, be, "type", "vif");
    fake_xs_printf(fp, be, "frontend", "%s", fe);
}

void nf_toolstack_remove(struct fake_platform *fp, uint32_t domid, uint32_t devid)
{
    char be[128];
    snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    fake_xs_printf(fp, be, "online", "0");
    fake_xs_printf(fp, be, "state", "5");
}

void nf_init(struct fake_netfront *nf, struct fake_platform *fp, struct netback *nb, uint32_t domid,
             uint32_t devid)
{
    memset(nf, 0, sizeof(*nf));
    nf->fp = fp;
    nf->nb = nb;
    nf->domid = domid;
    nf->devid = devid;
    nf->sg = true;
    snprintf(nf->be, sizeof(nf->be), "/local/domain/0/backend/vif/%u/%u", domid, devid);
    snprintf(nf->fe, sizeof(nf->fe), "/local/domain/%u/device/vif/%u", domid, devid);
    for (unsigned int i = 0; i < NF_RX_BUFS; i++) {
        nf->rx_page[i] = fake_alloc_page(fp);
        nf->rx_gref[i] = fake_grant(fp, nf->rx_page[i], false);
    }
    for (unsigned int i = 0; i < NF_TX_PAGES; i++) {
        nf->tx_page[i] = fake_alloc_page(fp);
        nf->tx_gref[i] = fake_grant(fp, nf->tx_page[i], true);
    }
}

bool nf_pump(struct fake_netfront *nf, bool (*pred)(struct fake_netfront *nf))
{
    for (int i = 0; i < 2000; i++) {
        netback_poll(nf->nb);
        if (pred(nf))
            return true;
    }
    return false;
}

const char *nf_be_key(struct fake_netfront *nf, const char *key)
{
    static char buf[256];
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", nf->be, key);
    if (fake_xs_read(nf->fp, path, buf, sizeof(buf)) < 0)
        buf[0] = '\0';
    return buf;
}

int nf_backend_state(struct fake_netfront *nf)
{
    uint64_t v;
    const char *s = nf_be_key(nf, "state");
    return xenbus_parse_uint(s, 16, &v) ? -1 : (int)v;
}

void nf_fe_write(struct fake_netfront *nf, const char *key, const char *val)
{
    fake_xs_printf(nf->fp, nf->fe, key, "%s", val);
}

void nf_set_state(struct fake_netfront *nf, int state)
{
    fake_xs_printf(nf->fp, nf->fe, "state", "%d", state);
}

void nf_talk(struct fake_netfront *nf, unsigned int nr_queues, bool split)
{
    struct xenbus_platform *p = fake_platform_base(nf->fp);
    cr_assert_str_eq(nf_be_key(nf, "feature-rx-copy"), "1", "netfront requires rx-copy");
    nf->split = split;
    nf->nr_queues = nr_queues ? nr_queues : 1;
    xenbus_txn_t t;
    char path[256], val[32];
    p->ops->xs_transaction_start(p, &t);
#define TW(key, ...)                                                                               \
    do {                                                                                           \
        snprintf(path, sizeof(path), "%s/%s", nf->fe, key);                                        \
        snprintf(val, sizeof(val), __VA_ARGS__);                                                   \
        p->ops->xs_write(p, t, path, val);                                                         \
    } while (0)
    if (nr_queues)
        TW("multi-queue-num-queues", "%u", nr_queues);
    for (unsigned int q = 0; q < nf->nr_queues; q++) {
        unsigned int txp = fake_alloc_page(nf->fp), rxp = fake_alloc_page(nf->fp);
        netif_tx_sring_t *txs = fake_page(nf->fp, txp);
        netif_rx_sring_t *rxs = fake_page(nf->fp, rxp);
        SHARED_RING_INIT(txs);
        SHARED_RING_INIT(rxs);
        if (q == 0) /* the tests send on queue 0; the others only connect */
            FRONT_RING_INIT(&nf->tx, txs, 4096);
        if (q < NF_MAX_QUEUES)
            FRONT_RING_INIT(&nf->rxs[q], rxs, 4096);
        char pre[32] = "", key[64];
        if (nf->nr_queues > 1)
            snprintf(pre, sizeof(pre), "queue-%u/", q);
        snprintf(key, sizeof(key), "%stx-ring-ref", pre);
        TW(key, "%u", fake_grant(nf->fp, txp, false));
        snprintf(key, sizeof(key), "%srx-ring-ref", pre);
        TW(key, "%u", fake_grant(nf->fp, rxp, false));
        uint32_t a = fake_evtchn_alloc_unbound(nf->fp);
        if (split) {
            uint32_t b = fake_evtchn_alloc_unbound(nf->fp);
            snprintf(key, sizeof(key), "%sevent-channel-tx", pre);
            TW(key, "%u", a);
            snprintf(key, sizeof(key), "%sevent-channel-rx", pre);
            TW(key, "%u", b);
            if (q == 0)
                nf->tx_port = a;
            if (q < NF_MAX_QUEUES)
                nf->rxs_port[q] = b;
        } else {
            snprintf(key, sizeof(key), "%sevent-channel", pre);
            TW(key, "%u", a);
            if (q == 0)
                nf->tx_port = a;
            if (q < NF_MAX_QUEUES)
                nf->rxs_port[q] = a;
        }
    }
    nf->rx = nf->rxs[0];
    nf->rx_port = nf->rxs_port[0];
    nf->rx_queue = 0;
    TW("request-rx-copy", "1");
    TW("feature-rx-notify", "1");
    TW("feature-sg", "%d", nf->sg ? 1 : 0);
    TW("feature-gso-tcpv4", "%d", nf->no_gso ? 0 : 1);
    TW("feature-gso-tcpv6", "%d", nf->no_gso ? 0 : 1);
    TW("feature-ipv6-csum-offload", "1");
#undef TW
    p->ops->xs_transaction_end(p, t, false);
    nf_set_state(nf, XenbusStateConnected);
}

static bool be_initwait(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateInitWait;
}

static bool be_connected(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateConnected;
}

void nf_use_rx_queue(struct fake_netfront *nf, unsigned int q)
{
    cr_assert_lt(q, nf->nr_queues < NF_MAX_QUEUES ? nf->nr_queues : NF_MAX_QUEUES);
    nf->rxs[nf->rx_queue] = nf->rx;
    nf->rx = nf->rxs[q];
    nf->rx_port = nf->rxs_port[q];
    nf->rx_queue = q;
}

void nf_post_rx(struct fake_netfront *nf)
{
    nf_post_rx_range(nf, 0, NF_RX_BUFS);
}

void nf_post_rx_range(struct fake_netfront *nf, unsigned int first, unsigned int n)
{
    for (unsigned int i = first; i < first + n && i < NF_RX_BUFS; i++) {
        struct netif_rx_request *r = RING_GET_REQUEST(&nf->rx, nf->rx.req_prod_pvt);
        r->id = (uint16_t)i;
        r->gref = nf->rx_gref[i];
        nf->rx.req_prod_pvt++;
    }
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->rx, notify);
    if (notify)
        fake_evtchn_notify_from_frontend(nf->fp, nf->rx_port);
}

bool nf_connect(struct fake_netfront *nf)
{
    if (!nf_pump(nf, be_initwait))
        return false;
    nf_talk(nf, 0, false);
    if (!nf_pump(nf, be_connected))
        return false;
    nf_post_rx(nf);
    netback_poll(nf->nb);
    return true;
}

void nf_push_raw(struct fake_netfront *nf, const struct netif_tx_request *r, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        *RING_GET_REQUEST(&nf->tx, nf->tx.req_prod_pvt++) = r[i];
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->tx, notify);
    if (notify)
        fake_evtchn_notify_from_frontend(nf->fp, nf->tx_port);
}

static unsigned int want_rsp;
static bool has_tx_rsp(struct fake_netfront *nf)
{
    return nf->tx.sring->rsp_prod - nf->tx.rsp_cons >= want_rsp;
}

bool nf_wait_tx_responses(struct fake_netfront *nf, unsigned int n, struct netif_tx_response *out)
{
    want_rsp = n;
    if (!nf_pump(nf, has_tx_rsp))
        return false;
    for (unsigned int i = 0; i < n; i++)
        out[i] = *RING_GET_RESPONSE(&nf->tx, nf->tx.rsp_cons++);
    return true;
}

/* A frame in nslots requests (sizes split evenly), an optional GSO extra after the first. */
static int send_frame(struct fake_netfront *nf, const void *frame, uint16_t len,
                      unsigned int nslots, uint16_t off0, uint16_t txflags,
                      const struct netif_extra_info *gso)
{
    struct netif_tx_request r[NF_TX_PAGES + 1];
    cr_assert(nslots >= 1 && nslots <= NF_TX_PAGES);
    unsigned int per = len / nslots, done = 0, k = 0;
    for (unsigned int i = 0; i < nslots; i++) {
        unsigned int n = i + 1 == nslots ? len - done : per;
        uint16_t off = i == 0 ? off0 : 0;
        cr_assert_leq(off + n, 4096, "test frame does not fit its slots");
        memcpy((char *)fake_page(nf->fp, nf->tx_page[i]) + off, (const char *)frame + done, n);
        r[k++] =
            (struct netif_tx_request){.gref = nf->tx_gref[i],
                                      .offset = off,
                                      .flags = (uint16_t)(i + 1 < nslots ? NETTXF_more_data : 0),
                                      .id = (uint16_t)(100 + i),
                                      .size = (uint16_t)(i == 0 ? len : n)};
        if (i == 0 && gso) {
            r[0].flags |= NETTXF_extra_info;
            memcpy(&r[k++], gso, sizeof(*gso));
        }
        done += n;
    }
    r[0].flags |= txflags;
    nf_push_raw(nf, r, k);
    struct netif_tx_response rsp[NF_TX_PAGES + 1];
    if (!nf_wait_tx_responses(nf, k, rsp))
        return -100;
    int status = NETIF_RSP_NULL;
    for (unsigned int i = 0, d = 0; i < k; i++) {
        if (gso && i == 1) {
            cr_assert_eq(rsp[i].status, NETIF_RSP_NULL, "the extra's slot");
            continue;
        }
        cr_assert_eq(rsp[i].id, 100 + d++);
        if (status == NETIF_RSP_NULL)
            status = rsp[i].status;
        cr_assert_eq(rsp[i].status, status);
    }
    return status;
}

int nf_send(struct fake_netfront *nf, const void *frame, uint16_t len, unsigned int nslots,
            uint16_t off0, uint16_t txflags)
{
    return send_frame(nf, frame, len, nslots, off0, txflags, NULL);
}

int nf_send_gso(struct fake_netfront *nf, const void *frame, uint16_t len, unsigned int nslots,
                uint16_t txflags, uint8_t gso_type, uint16_t mss)
{
    struct netif_extra_info ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
    ex.u.gso.type = gso_type;
    ex.u.gso.size = mss;
    return send_frame(nf, frame, len, nslots, 0, txflags, &ex);
}

static bool has_rx_rsp(struct fake_netfront *nf)
{
    return RING_HAS_UNCONSUMED_RESPONSES(&nf->rx);
}

bool nf_rx_pending(struct fake_netfront *nf)
{
    for (int i = 0; i < 20; i++)
        netback_poll(nf->nb);
    return has_rx_rsp(nf);
}

/* Gives buffer id back to the backend. */
static void repost(struct fake_netfront *nf, unsigned int id)
{
    struct netif_rx_request *r = RING_GET_REQUEST(&nf->rx, nf->rx.req_prod_pvt);
    r->id = (uint16_t)id;
    r->gref = nf->rx_gref[id];
    nf->rx.req_prod_pvt++;
}

int nf_recv(struct fake_netfront *nf, void *buf, size_t cap, uint16_t *rxflags)
{
    return nf_recv_gso(nf, buf, cap, rxflags, NULL);
}

int nf_recv_gso(struct fake_netfront *nf, void *buf, size_t cap, uint16_t *rxflags,
                struct netif_extra_info *gso)
{
    size_t total = 0;
    int err = 0;
    if (gso)
        memset(gso, 0, sizeof(*gso));
    for (unsigned int slot = 0;; slot++) {
        if (!nf_pump(nf, has_rx_rsp))
            return -1;
        struct netif_rx_response rsp = *RING_GET_RESPONSE(&nf->rx, nf->rx.rsp_cons++);
        cr_assert_lt(rsp.id, NF_RX_BUFS);
        if (slot == 0 && (rsp.flags & NETRXF_extra_info)) {
            /* The next slot is the extra (its buffer unused). */
            if (!nf_pump(nf, has_rx_rsp))
                return -1;
            /* Buffers are posted in ring order from index 0 and consumed in order, so the
             * extra's slot held buffer (index % NF_RX_BUFS). */
            unsigned int xid = nf->rx.rsp_cons % NF_RX_BUFS;
            struct netif_extra_info ex;
            memcpy(&ex, RING_GET_RESPONSE(&nf->rx, nf->rx.rsp_cons++), sizeof(ex));
            cr_assert_eq(ex.flags & XEN_NETIF_EXTRA_FLAG_MORE, 0);
            if (gso)
                *gso = ex;
            repost(nf, xid);
        }
        if (slot == 0 && rxflags)
            *rxflags = rsp.flags;
        if (rsp.status < 0 && !err)
            err = rsp.status;
        if (rsp.status > 0) {
            cr_assert_leq(rsp.offset + rsp.status, 4096);
            cr_assert_leq(total + (size_t)rsp.status, cap);
            memcpy((char *)buf + total, (char *)fake_page(nf->fp, nf->rx_page[rsp.id]) + rsp.offset,
                   (size_t)rsp.status);
            total += (size_t)rsp.status;
        }
        /* The buffer goes straight back to the backend. */
        repost(nf, rsp.id);
        int notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->rx, notify);
        if (notify)
            fake_evtchn_notify_from_frontend(nf->fp, nf->rx_port);
        if (!(rsp.flags & NETRXF_more_data))
            break;
    }
    return err ? err : (int)total;
}
