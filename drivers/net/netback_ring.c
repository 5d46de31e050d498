/* netback's data plane: the TX and RX rings of each queue.
 * TX: each ring entry is copied once (ring_safe) into the queue's pending chain; the chain is
 * validated (netback_req.c) as it grows, the granted fragments of the valid packets the ring
 * holds are copied into the queue's packet buffer with one grant-copy call for up to
 * NETBACK_TX_BATCH packets (a hypervisor round trip each call), then every entry is answered
 * in ring order (extras with NETIF_RSP_NULL) and each packet goes to the vif's port. RX: frames
 * wait in the vif's bounded FIFO; RX requests are copied once into a stash; a frame is copied into
 * as many posted grants as it needs (one without feature-sg) and answered slot by slot. Invariants:
 * an entry consumed is answered exactly once; a queue marked dead consumes nothing more; the loops
 * are bounded (a budget, then a kick of the event loop). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netback_priv.h"

static struct xenbus_platform *q_platform(struct netback_queue *q)
{
    return q->vif->nb->p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void netback_kick(struct netback *nb)
{
    uint64_t one = 1;
    (void)!write(nb->kick_fd, &one, sizeof(one));
}

static void queue_fatal(struct netback_queue *q, struct kxen_ring_guard *g, int err,
                        const char *what)
{
    char why[160] = "";
    q->dead = true;
    if (g)
        kxen_ring_guard_describe(g, why, sizeof(why));
    /* Only this vif closes; it may be disconnected when this returns. */
    xenbus_dev_fatal(q->vif->xdev, err, "queue %u: %s%s%s", q->idx, what, g ? ": " : "", why);
}

/* ---- TX ------------------------------------------------------------------------------------ */

static void tx_respond(struct netback_queue *q, const struct netback_tx_pkt *pkt, int16_t status)
{
    for (unsigned int i = 0; i < pkt->nr_entries; i++) {
        struct netif_tx_response rsp = {.id = pkt->entry_id[i],
                                        .status = pkt->entry_is_extra[i] ? NETIF_RSP_NULL : status};
        RING_BACK_PUT_RESPONSE(&q->tx, &rsp);
    }
}

static void tap_write_seg(void *ctx, uint8_t *seg, size_t len)
{
    struct netback_vif *vif = ctx;
    if (net_tap_write(&vif->tap, seg, len))
        vif->nb->stats.tx_errors++;
}

static void tx_deliver(struct netback_vif *vif, uint8_t *frame, size_t len, uint16_t txflags,
                       const struct netback_tx_pkt *pkt)
{
    unsigned int flags = 0;
    if (txflags & NETTXF_csum_blank)
        flags |= NET_FRAME_CSUM_BLANK;
    if (txflags & NETTXF_data_validated)
        flags |= NET_FRAME_VALIDATED;
    if (pkt->has_gso) {
        flags |= (pkt->gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ? NET_FRAME_GSO_TCPV4
                                                                  : NET_FRAME_GSO_TCPV6) |
                 (unsigned int)pkt->gso.u.gso.size << NET_FRAME_GSO_SHIFT;
    }
    if (vif->tap.fd >= 0) {
        /* A super-frame goes to the host stack whole when so configured (the kernel cuts
         * it); else, or where the tap cannot take it, the host gets complete, wire-sized
         * frames cut here. */
        if (pkt->has_gso) {
            struct net_gso_info gi = {pkt->gso.u.gso.type, pkt->gso.u.gso.size};
            int rc =
                vif->nb->cfg.tap_gso ? net_tap_write_gso(&vif->tap, frame, len, &gi) : -EOPNOTSUPP;
            if (rc == -EOPNOTSUPP || rc == -EINVAL)
                net_gso_segment(frame, len, &gi, vif->nb->seg_buf, sizeof(vif->nb->seg_buf),
                                tap_write_seg, vif);
            else if (rc)
                vif->nb->stats.tx_errors++;
            return;
        }
        if (flags & NET_FRAME_CSUM_BLANK)
            net_csum_fill(frame, len);
        if (net_tap_write(&vif->tap, frame, len))
            vif->nb->stats.tx_errors++;
    } else if (vif->sw_port >= 0) {
        net_switch_input(vif->nb->sw, vif->sw_port, frame, len, flags, now_ns());
    }
}

/* Answers and delivers the first n packets of the batch; false when the queue died. */
static bool tx_answer(struct netback_queue *q, unsigned int n, bool copied)
{
    struct netback *nb = q->vif->nb;
    for (unsigned int b = 0; b < n; b++) {
        const struct netback_tx_pkt *pkt = &q->txb_pkt[b];
        uint8_t *data = q->pkt + q->txb_off[b];
        bool ok = copied;
        for (unsigned int i = q->txb_seg0[b]; ok && i < q->txb_seg0[b + 1]; i++)
            ok = q->txb_seg[i].status == 0; /* Buggy or malicious guest: a bad grant or page. */
        struct net_gso_info gi = {pkt->gso.u.gso.type, pkt->gso.u.gso.size};
        /* Buggy or malicious guest: a GSO packet that is no segmentable TCP packet. */
        if (!ok || (pkt->has_gso && net_gso_check(data, pkt->len, &gi, NULL))) {
            tx_respond(q, pkt, NETIF_RSP_ERROR);
            nb->stats.tx_errors++;
            continue;
        }
        tx_respond(q, pkt, NETIF_RSP_OKAY);
        q->tx_frames++;
        nb->stats.tx_packets++;
        nb->stats.tx_bytes += pkt->len;
        tx_deliver(q->vif, data, pkt->len, pkt->flags, pkt);
        if (q->dead)
            return false;
    }
    return true;
}

/* TX copies are batched: the grant copies of up to NETBACK_TX_BATCH packets go to the
 * hypervisor in one call, one round trip for the batch rather than one a frame. The packets
 * are answered and delivered in ring order when the batch is flushed: before responses are
 * pushed, before any other answer is put on the ring and before the queue is declared dead.
 * Returns false when the queue died. */
static bool tx_flush(struct netback_queue *q)
{
    struct netback *nb = q->vif->nb;
    unsigned int nseg = q->txb_seg0[q->nr_txb], n = q->nr_txb;
    if (!n)
        return !q->dead;
    struct xenbus_platform *p = q_platform(q);
    bool copied = nseg == 0 || p->ops->gnttab_copy(p, nseg, q->txb_seg) >= 0;
    q->nr_txb = 0;
    q->txb_used = 0;
    /* Frames for other vifs (the switch) wait until the batch is delivered, then go out
     * together. */
    nb->rx_held = true;
    bool alive = tx_answer(q, n, copied);
    nb->rx_held = false;
    netback_vif_rx_flush_all(nb, q->vif);
    return alive && !q->dead;
}

/* Adds a parsed packet's copies to the batch (flushed first when it is full). */
static bool tx_batch(struct netback_queue *q, const struct netback_tx_pkt *pkt)
{
    if ((q->nr_txb == NETBACK_TX_BATCH || q->txb_used + pkt->len > NETBACK_MAX_PKT) && !tx_flush(q))
        return false;
    unsigned int b = q->nr_txb, n = q->txb_seg0[b];
    uint32_t off = q->txb_used;
    q->txb_pkt[b] = *pkt;
    q->txb_off[b] = off;
    for (unsigned int i = 0; i < pkt->nr_frags; i++) {
        const struct netback_tx_frag *f = &pkt->frag[i];
        if (f->len == 0)
            continue;
        q->txb_seg[n++] = (struct xenbus_gnttab_copy){.to_grant = false,
                                                      .domid = q->vif->xdev->frontend_id,
                                                      .ref = f->gref,
                                                      .offset = f->offset,
                                                      .len = f->len,
                                                      .local = q->pkt + off};
        off += f->len; /* the parser keeps the sum == pkt->len <= 65535 */
    }
    q->txb_used = off;
    q->txb_seg0[++q->nr_txb] = n;
    return true;
}

/* One packet at the head of the pending chain, complete or not. Returns false when the
 * queue died. */
static bool tx_packet(struct netback_queue *q)
{
    struct netback *nb = q->vif->nb;
    struct netback_tx_limits lim = {.gso = true};
    struct netback_tx_pkt pkt;
    switch (netback_parse_tx(q->pend, q->nr_pend, &lim, &pkt)) {
    case NETBACK_TX_MORE:
        return true;
    case NETBACK_TX_FATAL:
        if (tx_flush(q))
            queue_fatal(q, NULL, -EPROTO,
                        "malformed TX packet (too many slots or crossing a page)");
        return false;
    case NETBACK_TX_DROP:
        if (!tx_flush(q))
            return false;
        tx_respond(q, &pkt, NETIF_RSP_ERROR);
        nb->stats.tx_errors++;
        break;
    case NETBACK_TX_OK:
        q->nr_pend = 0;
        return tx_batch(q, &pkt);
    }
    q->nr_pend = 0;
    return true;
}

static void tx_push(struct netback_queue *q)
{
    int notify;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, notify);
    if (notify && q->tx_port >= 0)
        q_platform(q)->ops->evtchn_notify(q_platform(q), (uint32_t)q->tx_port);
}

static void tx_process(struct netback_queue *q)
{
    int more = 1;
    unsigned int budget = NETBACK_TX_BUDGET;
    q->tx_more = false;
    while (more && !q->dead) {
        for (;;) {
            if (budget-- == 0) {
                q->tx_more = true;
                if (!tx_flush(q))
                    return;
                tx_push(q);
                netback_kick(q->vif->nb);
                return;
            }
            int rc = RING_BACK_NEXT_REQUEST(&q->tx, &q->pend[q->nr_pend], &q->tx_guard);
            if (rc == 0)
                break;
            if (rc < 0) {
                /* Buggy or malicious guest: the producer index overran the ring. */
                if (tx_flush(q))
                    queue_fatal(q, &q->tx_guard, rc, "TX ring");
                return;
            }
            q->nr_pend++;
            if (!tx_packet(q))
                return;
        }
        if (!tx_flush(q))
            return;
        tx_push(q);
        RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
    }
}

/* ---- RX ------------------------------------------------------------------------------------ */

/* Stashes RX requests until there are at least want; false when the ring died. */
static bool rx_fill_stash(struct netback_queue *q, unsigned int want)
{
    while (q->nr_stash < want && q->nr_stash < NETBACK_RING_SLOTS) {
        unsigned int at = (q->stash_head + q->nr_stash) % NETBACK_RING_SLOTS;
        int rc = RING_BACK_NEXT_REQUEST(&q->rx, &q->stash[at], &q->rx_guard);
        if (rc == 0)
            break;
        if (rc < 0) {
            /* Buggy or malicious guest: the producer index overran the ring. */
            queue_fatal(q, &q->rx_guard, rc, "RX ring");
            return false;
        }
        q->nr_stash++;
    }
    return true;
}

static void rx_push(struct netback_queue *q)
{
    int notify;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
    if (notify && q->rx_port >= 0)
        q_platform(q)->ops->evtchn_notify(q_platform(q), (uint32_t)q->rx_port);
}

static unsigned int gso_size_of(unsigned int flags)
{
    return flags >> NET_FRAME_GSO_SHIFT;
}

static bool is_gso(unsigned int flags)
{
    return (flags & (NET_FRAME_GSO_TCPV4 | NET_FRAME_GSO_TCPV6)) != 0;
}

/* The ring slots a queued frame needs: its data slots, and one for the GSO extra. */
static unsigned int rx_slots(const struct netback_rxpkt *pkt)
{
    return (pkt->len + NETBACK_PAGE - 1) / NETBACK_PAGE + (is_gso(pkt->flags) ? 1 : 0);
}

/* RX copies are batched like TX's: the first frames of the vif's FIFO are staged (their
 * buffers taken from their queues' stashes, their copies listed), then one grant-copy call
 * fills every buffer and the frames are answered in FIFO order. A staged frame stays in the
 * FIFO until it is answered: its bytes are the copies' source. */

/* Stages the FIFO's next frame into nslots stashed buffers of q. A GSO frame's second slot
 * carries the extra info (its buffer is consumed unused, as Linux's netback does), the data
 * goes around it. */
static void rx_stage(struct netback_queue *q, struct netback_rxpkt *pkt, unsigned int nslots)
{
    struct netback_rx_batch *b = &q->vif->nb->rxb;
    const bool gso = is_gso(pkt->flags);
    const unsigned int ndata = nslots - (gso ? 1 : 0);
    struct netback_rx_staged *f = &b->frame[b->nr++];
    *f = (struct netback_rx_staged){.q = q, .seg0 = b->nr_seg, .ndata = ndata};
    uint32_t off = 0;
    for (unsigned int i = 0; i < ndata; i++) {
        unsigned int slot = gso && i > 0 ? i + 1 : i;
        const struct netif_rx_request *r = &q->stash[(q->stash_head + slot) % NETBACK_RING_SLOTS];
        uint32_t n = pkt->len - off < NETBACK_PAGE ? pkt->len - off : NETBACK_PAGE;
        b->seg_id[b->nr_seg] = r->id;
        b->seg[b->nr_seg++] = (struct xenbus_gnttab_copy){.to_grant = true,
                                                          .domid = q->vif->xdev->frontend_id,
                                                          .ref = r->gref,
                                                          .offset = 0,
                                                          .len = (uint16_t)n,
                                                          .local = pkt->data + off};
        off += n;
    }
    q->stash_head = (q->stash_head + nslots) % NETBACK_RING_SLOTS;
    q->nr_stash -= nslots;
}

/* Answers a staged frame slot by slot, its checksum flags and GSO extra after the first. */
static void rx_respond(const struct netback_rx_batch *b, const struct netback_rx_staged *f,
                       const struct netback_rxpkt *pkt, bool copied)
{
    struct netback_queue *q = f->q;
    struct netback *nb = q->vif->nb;
    const bool gso = is_gso(pkt->flags);
    const struct xenbus_gnttab_copy *segs = &b->seg[f->seg0];
    bool ok = copied;
    for (unsigned int i = 0; i < f->ndata; i++)
        ok = ok && segs[i].status == 0; /* Buggy or malicious guest: a bad RX grant. */
    uint16_t csum = 0;
    if (pkt->flags & NET_FRAME_CSUM_BLANK)
        csum = NETRXF_csum_blank | NETRXF_data_validated;
    else if (pkt->flags & NET_FRAME_VALIDATED)
        csum = NETRXF_data_validated;
    for (unsigned int i = 0; i < f->ndata; i++) {
        uint16_t flags = (uint16_t)(i + 1 < f->ndata ? NETRXF_more_data : 0);
        if (i == 0)
            flags |= csum | (gso ? NETRXF_extra_info : 0);
        struct netif_rx_response rsp = {.id = b->seg_id[f->seg0 + i],
                                        .offset = 0,
                                        .flags = flags,
                                        .status = ok ? (int16_t)segs[i].len : NETIF_RSP_ERROR};
        RING_BACK_PUT_RESPONSE(&q->rx, &rsp);
        if (i == 0 && gso) {
            struct netif_extra_info ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
            ex.u.gso.size = (uint16_t)gso_size_of(pkt->flags);
            ex.u.gso.type = (pkt->flags & NET_FRAME_GSO_TCPV4) ? XEN_NETIF_GSO_TYPE_TCPV4
                                                               : XEN_NETIF_GSO_TYPE_TCPV6;
            /* A ring slot is a request or a response: the extra takes one as its bytes. */
            struct netif_rx_response as_rsp;
            _Static_assert(sizeof(ex) == sizeof(as_rsp), "an extra fills one ring slot");
            memcpy(&as_rsp, &ex, sizeof(ex));
            RING_BACK_PUT_RESPONSE(&q->rx, &as_rsp);
        }
    }
    if (ok) {
        q->rx_frames++;
        nb->stats.rx_packets++;
        nb->stats.rx_bytes += pkt->len;
    } else {
        nb->stats.rx_dropped++;
    }
}

static void rxq_pop(struct netback_vif *vif)
{
    free(vif->rxq[vif->rxq_head].data);
    vif->rxq_head = (vif->rxq_head + 1) % vif->rxq_cap;
    vif->rxq_len--;
}

/* The batch's copies in one call, then its frames answered and taken off the FIFO. */
static void rx_finish(struct netback_vif *vif)
{
    struct netback_rx_batch *b = &vif->nb->rxb;
    if (!b->nr)
        return;
    struct xenbus_platform *p = vif->nb->p;
    bool copied = p->ops->gnttab_copy(p, b->nr_seg, b->seg) == 0;
    for (unsigned int k = 0; k < b->nr; k++) {
        rx_respond(b, &b->frame[k], &vif->rxq[vif->rxq_head], copied);
        rxq_pop(vif);
    }
    b->nr = b->nr_seg = 0;
}

/* The queue a frame goes out on: one flow always on the same queue (its order kept). */
static struct netback_queue *rx_queue_of(struct netback_vif *vif, const struct netback_rxpkt *pkt)
{
    if (vif->nr_queues == 1)
        return &vif->queues[0];
    return &vif->queues[net_flow_hash(pkt->data, pkt->len) % vif->nr_queues];
}

static void rx_push_all(struct netback_vif *vif)
{
    for (unsigned int i = 0; i < vif->nr_queues; i++)
        if (!vif->queues[i].dead)
            rx_push(&vif->queues[i]);
}

void netback_vif_rx_flush(struct netback_vif *vif)
{
    if (!vif->connected || vif->nr_queues == 0)
        return;
    struct netback_rx_batch *b = &vif->nb->rxb;
    unsigned int sent = 0;
    int more = 1;
    while (more) {
        struct netback_queue *q = NULL;
        while (vif->rxq_len > b->nr) {
            struct netback_rxpkt *pkt = &vif->rxq[(vif->rxq_head + b->nr) % vif->rxq_cap];
            q = rx_queue_of(vif, pkt);
            unsigned int need = rx_slots(pkt);
            if ((need > 1 && !vif->fe_sg) || q->dead) {
                rx_finish(vif);              /* the frames staged before it leave the FIFO first */
                vif->nb->stats.rx_dropped++; /* one buffer per frame without feature-sg */
                rxq_pop(vif);
                continue;
            }
            if (!rx_fill_stash(q, need)) {
                b->nr = b->nr_seg = 0; /* the vif is closed: its FIFO and queues are gone */
                return;
            }
            /* The FIFO waits for this queue's buffers: frames stay in order. */
            if (q->nr_stash < need)
                break;
            if (b->nr == NETBACK_RX_BATCH || b->nr_seg + need > NETBACK_RX_BATCH_SEGS)
                rx_finish(vif);
            rx_stage(q, pkt, need);
            if (++sent == NETBACK_RING_SLOTS) {
                rx_finish(vif);
                rx_push_all(vif);
                netback_kick(vif->nb);
                return;
            }
        }
        rx_finish(vif);
        rx_push_all(vif);
        if (vif->rxq_len == 0 || !q || q->dead)
            return;
        /* Ask for an event when buffers are posted, then look once more (no lost wakeup). */
        RING_FINAL_CHECK_FOR_REQUESTS(&q->rx, more);
    }
}

static void rx_queue_seg(void *ctx, uint8_t *seg, size_t len)
{
    struct netback_vif *vif = ctx;
    netback_vif_rx_queue(vif, seg, len, NET_FRAME_VALIDATED);
    /* A super-frame's segments go out a batch at a time, never filling the FIFO by
     * themselves. */
    if (vif->rxq_len >= NETBACK_RX_BATCH)
        netback_vif_rx_flush(vif);
}

void netback_vif_rx_queue(struct netback_vif *vif, const uint8_t *frame, size_t len,
                          unsigned int flags)
{
    struct netback *nb = vif->nb;
    if (!vif->connected || len == 0 || len > NETBACK_MAX_PKT || vif->rxq_len == vif->rxq_cap) {
        nb->stats.rx_dropped++;
        return;
    }
    if (is_gso(flags)) {
        bool v4 = flags & NET_FRAME_GSO_TCPV4;
        /* A frontend takes a super-frame whole only with sg, checksum offload and GSO of its
         * type negotiated; otherwise it gets the segments, complete. */
        if (!(vif->fe_sg && vif->fe_csum && (v4 ? vif->fe_gso_v4 : vif->fe_gso_v6))) {
            struct net_gso_info gi = {v4 ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6,
                                      gso_size_of(flags)};
            if (net_gso_segment(frame, len, &gi, nb->seg_buf, sizeof(nb->seg_buf), rx_queue_seg,
                                vif) < 0)
                nb->stats.rx_dropped++;
            return;
        }
    }
    uint8_t *copy = malloc(len);
    if (!copy) {
        nb->stats.rx_dropped++;
        return;
    }
    memcpy(copy, frame, len);
    if ((flags & NET_FRAME_CSUM_BLANK) && !vif->fe_csum) {
        /* The frontend wants complete checksums (feature-no-csum-offload). */
        net_csum_fill(copy, len);
        flags = NET_FRAME_VALIDATED;
    }
    unsigned int at = (vif->rxq_head + vif->rxq_len) % vif->rxq_cap;
    vif->rxq[at] = (struct netback_rxpkt){copy, (uint32_t)len, flags};
    vif->rxq_len++;
}

void netback_vif_rx(struct netback_vif *vif, const uint8_t *frame, size_t len, unsigned int flags)
{
    netback_vif_rx_queue(vif, frame, len, flags);
    if (!vif->nb->rx_held || vif->rxq_len >= NETBACK_RX_BATCH)
        netback_vif_rx_flush(vif);
}

void netback_vif_rx_flush_all(struct netback *nb, struct netback_vif *sender)
{
    /* The switch never sends a frame back to its sender: its FIFO got nothing. Flushing it
     * could close it under its own TX loop. */
    for (struct netback_vif *vif = nb->vifs; vif; vif = vif->next)
        if (vif != sender && vif->rxq_len)
            netback_vif_rx_flush(vif);
}

void netback_run_deferred(struct netback *nb)
{
    for (struct netback_vif *vif = nb->vifs; vif; vif = vif->next) {
        for (unsigned int i = 0; vif->connected && i < vif->nr_queues; i++)
            if (vif->queues[i].tx_more)
                tx_process(&vif->queues[i]);
        if (vif->rxq_len)
            netback_vif_rx_flush(vif);
    }
}

/* ---- Events and connection ----------------------------------------------------------------- */

static void tx_event(void *ctx, uint32_t port)
{
    (void)port;
    tx_process(ctx);
}

static void rx_event(void *ctx, uint32_t port)
{
    (void)port;
    struct netback_queue *q = ctx;
    netback_vif_rx_flush(q->vif);
}

static void both_event(void *ctx, uint32_t port)
{
    struct netback_queue *q = ctx;
    struct netback_vif *vif = q->vif;
    tx_event(ctx, port);
    /* tx may have closed the vif: its queues are gone then. */
    if (vif->connected)
        netback_vif_rx_flush(vif);
}

int netback_queue_connect(struct netback_queue *q, uint32_t domid, uint32_t tx_ref, uint32_t rx_ref,
                          uint32_t tx_evtchn, uint32_t rx_evtchn, bool split)
{
    struct xenbus_platform *p = q_platform(q);
    q->tx_port = q->rx_port = -1;
    int rc = p->ops->gnttab_map(p, domid, 1, &tx_ref, false, &q->tx_sring);
    if (rc)
        return rc;
    BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_sring, NETBACK_PAGE);
    rc = p->ops->gnttab_map(p, domid, 1, &rx_ref, false, &q->rx_sring);
    if (rc)
        return rc;
    BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_sring, NETBACK_PAGE);
    /* Resume after the last published response: 0 on fresh rings; on rings adopted from a
     * backend instance that died, the requests it took but never answered are taken again
     * (read once; a hostile value only makes the guard declare the ring dead). */
    q->tx.req_cons = q->tx.rsp_prod_pvt = __atomic_load_n(&q->tx.sring->rsp_prod, __ATOMIC_ACQUIRE);
    q->rx.req_cons = q->rx.rsp_prod_pvt = __atomic_load_n(&q->rx.sring->rsp_prod, __ATOMIC_ACQUIRE);
    if (split) {
        rc = xenbus_evtchn_bind(p, domid, tx_evtchn, tx_event, q);
        if (rc < 0)
            return rc;
        q->tx_port = rc;
        rc = xenbus_evtchn_bind(p, domid, rx_evtchn, rx_event, q);
        if (rc < 0)
            return rc;
        q->rx_port = rc;
    } else {
        rc = xenbus_evtchn_bind(p, domid, tx_evtchn, both_event, q);
        if (rc < 0)
            return rc;
        q->tx_port = q->rx_port = rc;
    }
    /* A notification sent while no backend was bound (adopted rings) is lost: look once, from
     * the loop, after the connection is complete. */
    q->tx_more = true;
    netback_kick(q->vif->nb);
    return 0;
}

void netback_queue_disconnect(struct netback_queue *q)
{
    struct xenbus_platform *p = q_platform(q);
    q->dead = true;
    if (q->tx_port >= 0)
        xenbus_evtchn_unbind(p, (uint32_t)q->tx_port);
    if (q->rx_port >= 0 && q->rx_port != q->tx_port)
        xenbus_evtchn_unbind(p, (uint32_t)q->rx_port);
    q->tx_port = q->rx_port = -1;
    if (q->tx_sring)
        p->ops->gnttab_unmap(p, q->tx_sring, 1);
    if (q->rx_sring)
        p->ops->gnttab_unmap(p, q->rx_sring, 1);
    q->tx_sring = q->rx_sring = NULL;
}
