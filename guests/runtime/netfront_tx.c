/* The runtime netfront's sending side (see guest/netfront.h): frames copied into granted TX
 * buffers, or written there by the caller (netfront_tx_buffer), queued on the TX ring in
 * order. Invariants: a TX buffer is reused only after its response came back (a buffer is
 * busy from the moment it is handed out until then); the backend's response index is checked
 * against what we produced before each read. */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/netif.h>

#include "guest/evtchn.h"
#include "guest/lib.h"
#include "guest/netfront.h"
#include "netfront_priv.h"

static void give_back_tx(struct nf_queue *q, unsigned id)
{
    q->tx_busy[id] = false;
    q->tx_free[q->tx_nr_free++] = (uint8_t)id;
}

/* Frees the TX buffers whose responses came back. arm: ask for an event at the next response.
 * Only a sender waiting for buffers needs one: an event at every completion would wake a guest
 * that waits for a frame, for nothing. */
void nf_reap_tx(struct nf_queue *q, bool arm)
{
    for (;;) {
        RING_IDX prod = q->tx.sring->rsp_prod;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        /* Buggy or malicious backend: more responses than requests. */
        if (prod - q->tx.rsp_cons > q->tx.req_prod_pvt - q->tx.rsp_cons)
            return;
        while (q->tx.rsp_cons != prod) {
            netif_tx_response_t rsp = *RING_GET_RESPONSE(&q->tx, q->tx.rsp_cons);
            q->tx.rsp_cons++;
            /* Buggy or malicious backend: an id not in flight is not freed twice. */
            if (rsp.status != NETIF_RSP_NULL && rsp.id < NR_TX && q->tx_busy[rsp.id])
                give_back_tx(q, rsp.id);
        }
        if (!arm)
            return;
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, more);
        if (!more)
            return;
    }
}

struct tx_wait {
    struct nf_queue *q;
    unsigned need;
    bool poll;
};

static bool tx_free_cond(void *ctx)
{
    struct tx_wait *w = ctx;
    if (!w->poll && nf_backend_moved(0))
        return true; /* the caller sees be_changed and follows the backend */
    nf_reap_tx(w->q, false);
    if (w->q->tx_nr_free >= w->need)
        return true;
    nf_reap_tx(w->q, true); /* about to block: an event when buffers come back */
    return w->q->tx_nr_free >= w->need;
}

static int take_tx(struct nf_queue *q)
{
    int id = q->tx_free[--q->tx_nr_free]; /* the caller made sure there are enough */
    q->tx_busy[id] = true;
    return id;
}

/* The queue a frame goes out on: one flow (IPv4 addresses, protocol and TCP/UDP ports, else
 * the MAC addresses) always on the same queue, so its frames stay in order. */
static unsigned tx_queue_of(const uint8_t *f, size_t len)
{
    if (nf.nr_queues == 1)
        return 0;
    uint32_t h = 2166136261u;
    size_t from = 0, to = 12;
    if (len >= 34 && f[12] == 0x08 && f[13] == 0x00 && (f[14] >> 4) == 4) {
        size_t ihl = (size_t)(f[14] & 0xf) * 4;
        bool l4 = (f[23] == 6 || f[23] == 17) && 14 + ihl + 4 <= len;
        from = 26;
        to = l4 ? 14 + ihl + 4 : 34;
        h = (h ^ f[23]) * 16777619u;
    }
    for (size_t i = from; i < to; i++)
        h = (h ^ f[i]) * 16777619u;
    return h % nf.nr_queues;
}

/* Waits until q has need free TX buffers: 0, or -XEN_EAGAIN when the backend changed while we
 * waited. */
static int tx_reserve(struct nf_queue *q, unsigned need, uint64_t deadline_ns, bool poll)
{
    struct tx_wait w = {q, need, poll};
    /* Buffers free (the usual case): no wait, whose event scan and timer cost more than the
     * send itself where the guest's instructions are the bound (kvm here). */
    nf_reap_tx(q, false);
    if (q->tx_nr_free < need || (!poll && nf_backend_moved(0))) {
        int rc = nf_wait_for(tx_free_cond, &w, deadline_ns, poll);
        if (rc)
            return rc;
        if (!poll && nf.be_changed)
            return -XEN_EAGAIN;
    }
    return 0;
}

/* A request for buffer id; the first slot's size is the whole frame's, the others carry their
 * own. */
static void tx_request(struct nf_queue *q, int id, uint16_t flags, size_t size)
{
    netif_tx_request_t *r = RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt);
    *r = (netif_tx_request_t){.gref = q->tx_gref[id],
                              .offset = 0,
                              .flags = flags,
                              .id = (uint16_t)id,
                              .size = (uint16_t)size};
    q->tx.req_prod_pvt++;
}

static void tx_push(struct nf_queue *q)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
    if (notify)
        evtchn_send(q->tx_port);
}

/* -XEN_EAGAIN (nothing sent) when the backend changed while we waited for TX buffers. */
static int queue_send(unsigned qi, const void *frame, size_t len, const struct netfront_txopt *opt,
                      uint64_t deadline_ns, bool poll)
{
    if (!nf.up || qi >= nf.nr_queues)
        return -XEN_ENODEV;
    if (len < 14 || len > (nf.be_sg ? NETFRONT_MAX_FRAME : NETFRONT_MTU_FRAME))
        return -XEN_EINVAL;
    bool gso = opt && opt->gso_type != XEN_NETIF_GSO_TYPE_NONE;
    if (gso && !(opt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4   ? nf.be_gso4
                 : opt->gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? nf.be_gso6
                                                             : false))
        return -XEN_EOPNOTSUPP;
    struct nf_queue *q = &nf.q[qi];
    unsigned need = (unsigned)((len + PAGE - 1) / PAGE);
    int rc = tx_reserve(q, need, deadline_ns, poll);
    if (rc)
        return rc;
    const uint8_t *src = frame;
    for (unsigned i = 0; i < need; i++) {
        size_t n = len - (size_t)i * PAGE < PAGE ? len - (size_t)i * PAGE : PAGE;
        int id = take_tx(q);
        nf_copy_frame(nf_pages[qi].tx_buf[id], src + (size_t)i * PAGE, n);
        uint16_t flags = i + 1 < need ? NETTXF_more_data : 0;
        if (i == 0) {
            if (opt && opt->csum_blank)
                flags |= NETTXF_csum_blank | NETTXF_data_validated;
            if (gso)
                flags |= NETTXF_extra_info;
        }
        tx_request(q, id, flags, i == 0 ? len : n);
        if (i == 0 && gso) {
            /* The extra takes the next request slot as its bytes. */
            netif_extra_info_t ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
            ex.u.gso.size = opt->gso_size;
            ex.u.gso.type = opt->gso_type;
            memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt), &ex, sizeof(ex));
            q->tx.req_prod_pvt++;
        }
    }
    tx_push(q);
    return 0;
}

int netfront_tx_buffer(struct netfront_txbuf *b, uint64_t deadline_ns)
{
    for (;;) {
        int rc = nf_await_up(deadline_ns);
        if (rc)
            return rc;
        struct nf_queue *q = &nf.q[0];
        rc = tx_reserve(q, 1, deadline_ns, false);
        if (rc == -XEN_EAGAIN) /* the backend changed: follow it, then try again */
            continue;
        if (rc)
            return rc;
        int id = take_tx(q);
        *b = (struct netfront_txbuf){
            .data = nf_pages[0].tx_buf[id], .id = (uint16_t)id, .conn = nf.connections};
        return 0;
    }
}

int netfront_tx_commit(const struct netfront_txbuf *b, size_t len)
{
    struct nf_queue *q = &nf.q[0];
    /* A buffer of an earlier connection: its grant and ring are gone, the frame is lost. */
    if (!nf.up || b->conn != nf.connections || b->id >= NR_TX || !q->tx_busy[b->id])
        return -XEN_EAGAIN;
    if (len < 14 || len > NETFRONT_MTU_FRAME) {
        give_back_tx(q, b->id);
        return -XEN_EINVAL;
    }
    tx_request(q, b->id, 0, len);
    tx_push(q);
    return 0;
}

int netfront_send(const void *frame, size_t len, uint64_t deadline_ns)
{
    return netfront_send_opt(frame, len, 0, deadline_ns);
}

int netfront_send_opt(const void *frame, size_t len, const struct netfront_txopt *opt,
                      uint64_t deadline_ns)
{
    for (;;) {
        int rc = nf_await_up(deadline_ns);
        if (rc)
            return rc;
        unsigned qi = len >= 14 ? tx_queue_of(frame, len) : 0;
        rc = queue_send(qi, frame, len, opt, deadline_ns, false);
        if (rc != -XEN_EAGAIN) /* else the backend changed: follow it, then try again */
            return rc;
    }
}

int netfront_queue_send(unsigned queue, const void *frame, size_t len, uint64_t deadline_ns)
{
    return queue_send(queue, frame, len, 0, deadline_ns, true);
}
