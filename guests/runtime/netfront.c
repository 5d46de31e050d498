/* The guest netfront (see guest/netfront.h); its sending side is netfront_tx.c. Rings and buffers
 * are static pages of the image (identity-mapped, so a page's frame is its address >> 12), granted
 * to the backend once. A frame larger than a page spans several slots (feature-sg), one buffer page
 * each; a GSO frame has its extra info in the slot after the first, both ways. Each queue has its
 * own rings, buffers and event channels; after the handshake a queue's state is touched only by the
 * vCPU driving it (netfront_queue_*), or by main() for all of them.
 * Invariants: a TX buffer is reused only after its response came back; every RX buffer is
 * reposted as soon as its slot is copied out, so the backend always has NR_RX buffers less
 * the slots not yet read. The backend's response index is checked against what we produced
 * before each read, so a backend that overruns a ring cannot make us read garbage.
 * After a resume in a new domain the vif reconnects by itself (a guest_suspend resume hook), as
 * Linux's netfront_resume: frames still in the TX ring are dropped (the network loses frames
 * anyway), every RX buffer is posted again on the new rings. A backend that dies under a running
 * guest (netfront_follow_restarts) is followed in netfront_follow.c. */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/netif.h>
#include <kxen/io/xenbus.h>

#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/suspend.h"
#include "guest/time.h"
#include "guest/xenbus.h"
#include "netfront_priv.h"

#define MS 1000000ULL

struct nf_pages nf_pages[NETFRONT_MAX_QUEUES] __attribute__((aligned(PAGE)));

struct nf_state nf;

static void on_event(evtchn_port_t port, void *data)
{
    (void)port, (void)data; /* the waits re-check the rings */
}

int nf_read_uint(const char *path, unsigned long *out)
{
    char buf[24];
    int n = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 ? n : -XEN_EINVAL;
    unsigned long v = 0;
    for (int i = 0; i < n; i++) {
        unsigned long d = (unsigned long)(buf[i] - '0');
        /* A value from the store: digits only, and no wrap-around to a small number. */
        if (buf[i] < '0' || buf[i] > '9' || v > (~0UL - d) / 10)
            return -XEN_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[i * 3 + j];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (d == 16)
                return -XEN_EINVAL;
            v = v * 16 + d;
        }
        if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
            return -XEN_EINVAL;
        mac[i] = (uint8_t)v;
    }
    return 0;
}

/* A backend feature key: true only if it reads 1. */
static bool be_feature(const char *be, const char *key)
{
    char path[160];
    unsigned long v = 0;
    guest_snprintf(path, sizeof(path), "%s/%s", be, key);
    return nf_read_uint(path, &v) == 0 && v == 1;
}

/* Polls <be>/state until it equals want (or the deadline). */
static int wait_backend_state(const char *be, unsigned long want)
{
    char path[128];
    guest_snprintf(path, sizeof(path), "%s/state", be);
    uint64_t deadline = monotonic_ns() + NETFRONT_TIMEOUT_NS;
    for (;;) {
        unsigned long st = 0;
        if (nf_read_uint(path, &st) == 0 && st == want)
            return 0;
        if (st == XenbusStateClosed || st == XenbusStateClosing)
            return -XEN_ENODEV;
        if (monotonic_ns() > deadline)
            return -XEN_ETIMEDOUT;
        sleep_ns(2 * MS);
    }
}

/* ---- Negotiation ----------------------------------------------------------------------- */

static void post_rx(struct nf_queue *q, unsigned id)
{
    netif_rx_request_t *r = RING_GET_REQUEST(&q->rx, q->rx.req_prod_pvt);
    q->rx_id_at[q->rx.req_prod_pvt % RING_SIZE(&q->rx)] = (uint16_t)id;
    r->id = (uint16_t)id;
    r->gref = q->rx_gref[id];
    q->rx.req_prod_pvt++;
}

static void push_rx(struct nf_queue *q)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
    if (notify)
        evtchn_send(q->rx_port);
}

static int grant_page(const void *page, bool readonly, grant_ref_t *ref)
{
    return gnttab_grant_access(nf.backend_id, (uintptr_t)page >> 12, readonly, ref);
}

/* Every TX buffer free: fresh rings have nothing in flight. */
static void tx_all_free(struct nf_queue *q)
{
    for (unsigned i = 0; i < NR_TX; i++) {
        q->tx_busy[i] = false;
        q->tx_free[i] = (uint8_t)i;
    }
    q->tx_nr_free = NR_TX;
}

/* Queue i's rings (fresh), grants, event channel(s) and posted RX buffers. */
static int setup_queue(unsigned i)
{
    struct nf_queue *q = &nf.q[i];
    tx_all_free(q);
    struct nf_pages *pg = &nf_pages[i];
    netif_tx_sring_t *txs = (netif_tx_sring_t *)pg->tx_ring;
    netif_rx_sring_t *rxs = (netif_rx_sring_t *)pg->rx_ring;
    memset(pg->tx_ring, 0, PAGE);
    memset(pg->rx_ring, 0, PAGE);
    SHARED_RING_INIT(txs);
    SHARED_RING_INIT(rxs);
    FRONT_RING_INIT(&q->tx, txs, PAGE);
    FRONT_RING_INIT(&q->rx, rxs, PAGE);
    int rc = grant_page(pg->tx_ring, false, &q->tx_ring_ref);
    if (!rc)
        rc = grant_page(pg->rx_ring, false, &q->rx_ring_ref);
    for (unsigned b = 0; b < NR_TX && !rc; b++)
        rc = grant_page(pg->tx_buf[b], true, &q->tx_gref[b]);
    for (unsigned b = 0; b < NR_RX && !rc; b++)
        rc = grant_page(pg->rx_buf[b], false, &q->rx_gref[b]);
    if (rc || (rc = evtchn_alloc_unbound(nf.backend_id, &q->tx_port)) ||
        (rc = evtchn_bind(q->tx_port, on_event, 0)))
        return rc;
    q->rx_port = q->tx_port;
    if (nf.split && ((rc = evtchn_alloc_unbound(nf.backend_id, &q->rx_port)) ||
                     (rc = evtchn_bind(q->rx_port, on_event, 0))))
        return rc;
    for (unsigned b = 0; b < NR_RX; b++)
        post_rx(q, b);
    RING_PUSH_REQUESTS(&q->rx);
    return 0;
}

/* One key under fe: <fe>/<prefix><key> = val. */
static int write_key(xenbus_transaction_t t, const char *fe, const char *prefix, const char *key,
                     unsigned long val)
{
    char path[160], v[24];
    guest_snprintf(path, sizeof(path), "%s/%s%s", fe, prefix, key);
    guest_snprintf(v, sizeof(v), "%lu", val);
    return xenbus_write(t, path, v);
}

/* A queue's ring refs and event channel(s): flat with one queue, under queue-N/ with several
 * (as Linux's netfront writes them). */
static int write_queue_keys(xenbus_transaction_t t, const char *fe, unsigned i)
{
    const struct nf_queue *q = &nf.q[i];
    char prefix[16] = "";
    if (nf.nr_queues > 1)
        guest_snprintf(prefix, sizeof(prefix), "queue-%u/", i);
    int rc = write_key(t, fe, prefix, NETIF_KEY_TX_RING_REF, q->tx_ring_ref);
    if (!rc)
        rc = write_key(t, fe, prefix, NETIF_KEY_RX_RING_REF, q->rx_ring_ref);
    if (!rc && nf.split) {
        rc = write_key(t, fe, prefix, NETIF_KEY_EVENT_CHANNEL_TX, q->tx_port);
        if (!rc)
            rc = write_key(t, fe, prefix, NETIF_KEY_EVENT_CHANNEL_RX, q->rx_port);
    } else if (!rc) {
        rc = write_key(t, fe, prefix, NETIF_KEY_EVENT_CHANNEL, q->tx_port);
    }
    return rc;
}

static int write_keys_txn(xenbus_transaction_t t, const char *fe)
{
    int rc = 0;
    /* multi-queue-num-queues only with several queues: one queue is the flat layout. */
    if (nf.nr_queues > 1)
        rc = write_key(t, fe, "", NETIF_KEY_MULTI_QUEUE_NUM_QUEUES, nf.nr_queues);
    for (unsigned i = 0; i < nf.nr_queues && !rc; i++)
        rc = write_queue_keys(t, fe, i);
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_REQUEST_RX_COPY, 1);
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_FEATURE_RX_NOTIFY, 1);
    /* RX: several slots per frame and GSO frames with their extra are understood. */
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_FEATURE_SG, 1);
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_FEATURE_GSO_TCPV4, 1);
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_FEATURE_GSO_TCPV6, 1);
    if (!rc)
        rc = write_key(t, fe, "", NETIF_KEY_FEATURE_IPV6_CSUM_OFFLOAD, 0);
    return rc;
}

static int write_keys(const char *fe)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        xenbus_transaction_t t;
        int rc = xenbus_transaction_start(&t);
        if (rc)
            return rc;
        rc = write_keys_txn(t, fe);
        int end = xenbus_transaction_end(t, rc != 0);
        if (rc)
            return rc;
        if (end != -XEN_EAGAIN)
            return end;
    }
    return -XEN_EAGAIN;
}

/* How many queues: what was asked for, at most what the backend offers
 * (multi-queue-max-queues, absent meaning 1) and NETFRONT_MAX_QUEUES. */
static unsigned negotiate_queues(const char *be)
{
    char path[160];
    unsigned long be_max = 1;
    guest_snprintf(path, sizeof(path), "%s/" NETIF_KEY_MULTI_QUEUE_MAX_QUEUES, be);
    if (nf_read_uint(path, &be_max) || be_max == 0)
        be_max = 1;
    unsigned n = nf.want_queues ? nf.want_queues : 1;
    if (n > be_max)
        n = (unsigned)be_max;
    return n > NETFRONT_MAX_QUEUES ? NETFRONT_MAX_QUEUES : n;
}

/* The handshake of device/vif/<nf.devid>: backend features, queues, rings, grants, ports,
 * keys, Connected. mac gets the vif's MAC. */
int nf_connect(uint8_t mac[6])
{
    char fe[64], be[128], path[160], buf[32];
    guest_snprintf(fe, sizeof(fe), "device/vif/%u", nf.devid);
    guest_snprintf(path, sizeof(path), "%s/backend", fe);
    int rc = xenbus_read(XBT_NIL, path, be, sizeof(be));
    if (rc < 0)
        return rc;
    strlcpy(nf.be_path, be, sizeof(nf.be_path));
    unsigned long bid;
    guest_snprintf(path, sizeof(path), "%s/backend-id", fe);
    if ((rc = nf_read_uint(path, &bid)) != 0)
        return rc;
    /* A toolstack value we grant to: never a reserved domain id (DOMID_SELF and the like). */
    if (bid >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    nf.backend_id = (domid_t)bid;
    guest_snprintf(path, sizeof(path), "%s/mac", fe);
    if ((rc = xenbus_read(XBT_NIL, path, buf, sizeof(buf))) < 0 || (rc = parse_mac(buf, mac)))
        return rc;
    if ((rc = wait_backend_state(be, XenbusStateInitWait)) != 0)
        return rc;
    unsigned long copy = 0;
    guest_snprintf(path, sizeof(path), "%s/" NETIF_KEY_FEATURE_RX_COPY, be);
    if (nf_read_uint(path, &copy) || copy != 1)
        return -XEN_ENODEV; /* as Linux: no copying receive path, no device */
    nf.be_sg = be_feature(be, NETIF_KEY_FEATURE_SG);
    nf.be_gso4 = nf.be_sg && be_feature(be, NETIF_KEY_FEATURE_GSO_TCPV4);
    nf.be_gso6 = nf.be_sg && be_feature(be, NETIF_KEY_FEATURE_GSO_TCPV6);
    nf.split = be_feature(be, NETIF_KEY_FEATURE_SPLIT_EVENT_CHANNELS);
    nf.nr_queues = negotiate_queues(be);
    for (unsigned i = 0; i < nf.nr_queues && !rc; i++)
        rc = setup_queue(i);
    if (rc || (rc = write_keys(fe)) != 0)
        return rc;
    guest_snprintf(path, sizeof(path), "%s/state", fe);
    if ((rc = xenbus_write(XBT_NIL, path, "4")) != 0)
        return rc;
    if ((rc = wait_backend_state(be, XenbusStateConnected)) != 0)
        return rc;
    nf.up = true;
    nf.connections++;
    for (unsigned i = 0; i < nf.nr_queues; i++)
        evtchn_send(nf.q[i].rx_port); /* the backend looks at the posted RX buffers */
    return 0;
}

static void forget_grant(grant_ref_t *ref)
{
    if (*ref)
        gnttab_forget(*ref);
    *ref = 0;
}

static void forget_queue(struct nf_queue *q)
{
    if (q->rx_port && q->rx_port != q->tx_port) {
        evtchn_unbind(q->rx_port);
        evtchn_close(q->rx_port);
    }
    if (q->tx_port) {
        evtchn_unbind(q->tx_port);
        evtchn_close(q->tx_port);
    }
    q->tx_port = q->rx_port = 0;
    forget_grant(&q->tx_ring_ref);
    forget_grant(&q->rx_ring_ref);
    for (unsigned i = 0; i < NR_TX; i++)
        forget_grant(&q->tx_gref[i]);
    tx_all_free(q);
    for (unsigned i = 0; i < NR_RX; i++)
        forget_grant(&q->rx_gref[i]);
}

/* The old host's backend is gone with the old domain: its ports are closed, its grants
 * forgotten (their busy bits came with the page and are stale), TX frames in flight dropped. */
void nf_forget_backend(void)
{
    for (unsigned i = 0; i < NETFRONT_MAX_QUEUES; i++)
        forget_queue(&nf.q[i]);
    nf.up = false;
}

static int resume_hook_fn(void *ctx, uint64_t deadline_ns)
{
    (void)ctx, (void)deadline_ns; /* the handshake keeps its own NETFRONT_TIMEOUT_NS bound */
    uint8_t mac[6];
    char old_be[sizeof(nf.be_path)];
    strlcpy(old_be, nf.be_path, sizeof(old_be));
    nf_forget_backend();
    int rc = nf_connect(mac);
    if (rc)
        guest_resume_unregister(&nf.resume_hook);
    else
        nf_follow_moved(old_be); /* the new host's backend directory is another one */
    return rc;
}

int netfront_init_queues(unsigned devid, uint8_t mac[6], unsigned queues)
{
    nf.devid = devid;
    nf.want_queues = queues;
    int rc = nf_connect(mac);
    if (rc)
        return rc;
    nf.resume_hook = (struct guest_resume_hook){.fn = resume_hook_fn};
    guest_resume_register(&nf.resume_hook);
    return 0;
}

int netfront_init(unsigned devid, uint8_t mac[6])
{
    return netfront_init_queues(devid, mac, 1);
}

unsigned netfront_nr_queues(void)
{
    return nf.up ? nf.nr_queues : 0;
}

/* ---- Data path --------------------------------------------------------------------------- */

/* A frame's bytes into or out of a buffer page: `rep movsq`, then `rep movsb` for the tail.
 * Where KVM runs the guest's code in its instruction emulator (docs/kvm.md) every instruction
 * decoded costs microseconds and a string instruction is decoded once for all its iterations;
 * memcpy's word loop decodes ~4 instructions per 8 bytes (~2.6 ms for a 1514-byte frame
 * there). The ABI keeps the direction flag clear. */
void nf_copy_frame(void *dst, const void *src, size_t n)
{
    size_t words = n / 8, tail = n % 8;
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(tail) : : "memory");
}

/* Waits for cond: blocking (events, the timer) on the vCPU that takes upcalls, by polling on a
 * secondary vCPU, which runs with interrupts off. */
int nf_wait_for(bool (*cond)(void *ctx), void *ctx, uint64_t deadline_ns, bool poll)
{
    if (!poll)
        return wait_until(cond, ctx, deadline_ns);
    while (!cond(ctx)) {
        if (monotonic_ns() >= deadline_ns)
            return -XEN_ETIMEDOUT;
        __asm__ volatile("pause");
    }
    return 0;
}

static bool rx_ready(struct nf_queue *q)
{
    nf_reap_tx(q, false);
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, more);
    return more;
}

struct rx_wait {
    struct nf_queue *q;
    bool poll;
};

static bool rx_ready_cond(void *ctx)
{
    struct rx_wait *w = ctx;
    return (!w->poll && nf_backend_moved(0)) || rx_ready(w->q);
}

/* Stands for a deadline NETFRONT_SLOT_NS after the wait starts: the clock is read only when a
 * wait is needed (a read costs ~200 us where KVM emulates the guest's instructions). */
#define SLOT_DEADLINE UINT64_MAX

/* The next RX response of q (waiting up to deadline_ns), or a negative errno; -XEN_ENOTCONN
 * when the backend went away or was replaced (the rings are new: the frame in progress is
 * lost). at gets its ring index. */
static int next_rx(struct nf_queue *q, netif_rx_response_t *rsp, RING_IDX *at, uint64_t deadline_ns,
                   bool poll)
{
    if (!rx_ready(q)) {
        if (deadline_ns == 0)
            return -XEN_ETIMEDOUT;
        if (deadline_ns == SLOT_DEADLINE)
            deadline_ns = monotonic_ns() + NETFRONT_SLOT_NS;
        struct rx_wait w = {q, poll};
        int rc = nf_wait_for(rx_ready_cond, &w, deadline_ns, poll);
        if (rc)
            return rc;
    }
    if (!poll && nf.be_changed) {
        unsigned long before = nf.reconnects;
        nf_follow_backend();
        if (!nf.up || nf.reconnects != before)
            return -XEN_ENOTCONN;
    }
    RING_IDX prod = q->rx.sring->rsp_prod;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    /* Buggy or malicious backend: more responses than buffers posted. */
    if (prod - q->rx.rsp_cons > q->rx.req_prod_pvt - q->rx.rsp_cons)
        return -XEN_EIO;
    *at = q->rx.rsp_cons;
    *rsp = *RING_GET_RESPONSE(&q->rx, q->rx.rsp_cons);
    q->rx.rsp_cons++;
    return 0;
}

/* Reads the GSO extra in the slot after a frame's first and reposts its buffer; false when the
 * backend sent more than the one extra asked for. */
static int read_rx_extra(unsigned qi, struct netfront_rxinfo *ri, bool *ok, bool poll)
{
    struct nf_queue *q = &nf.q[qi];
    netif_rx_response_t x;
    RING_IDX at;
    int rc = next_rx(q, &x, &at, SLOT_DEADLINE, poll);
    if (rc)
        return rc;
    netif_extra_info_t ex;
    memcpy(&ex, &x, sizeof(ex));
    if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
        ri->gso_type = ex.u.gso.type;
        ri->gso_size = ex.u.gso.size;
    }
    /* Buggy or malicious backend: more than the one extra we asked for. */
    if (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE)
        *ok = false;
    post_rx(q, q->rx_id_at[at % RING_SIZE(&q->rx)]);
    return 0;
}

/* One frame (all its slots) off queue qi into buf: its length, -XEN_EAGAIN for a frame that
 * errored or did not fit (counted, dropped), or a negative errno. */
static int queue_recv(unsigned qi, void *buf, size_t cap, uint64_t deadline_ns,
                      struct netfront_rxinfo *info, bool poll)
{
    struct nf_queue *q = &nf.q[qi];
    size_t total = 0;
    bool ok = true;
    struct netfront_rxinfo ri = {0};
    netif_rx_response_t rsp;
    RING_IDX at;
    /* Once a frame's first slot is read, its other slots are published with it: a short wait
     * for them only guards against a backend that never sends them. */
    for (unsigned slot = 0;; slot++) {
        int rc = next_rx(q, &rsp, &at, slot == 0 ? deadline_ns : SLOT_DEADLINE, poll);
        if (rc)
            return rc;
        if (rsp.id >= NR_RX)
            return -XEN_EIO; /* Buggy or malicious backend: an id we never posted. */
        int len = rsp.status;
        if (len > 0 && total + (size_t)len <= cap && rsp.offset + (unsigned)len <= PAGE)
            nf_copy_frame((uint8_t *)buf + total, nf_pages[qi].rx_buf[rsp.id] + rsp.offset,
                          (size_t)len);
        else
            ok = false;
        total += len > 0 ? (size_t)len : 0;
        post_rx(q, rsp.id);
        if (slot == 0) {
            ri.flags = rsp.flags;
            ri.queue = (uint8_t)qi;
            ri.buffer = rsp.id;
            if ((rsp.flags & NETRXF_extra_info) && (rc = read_rx_extra(qi, &ri, &ok, poll)) != 0)
                return rc;
        }
        if (!(rsp.flags & NETRXF_more_data))
            break;
    }
    push_rx(q);
    if (!ok) {
        q->rx_errors++;
        return -XEN_EAGAIN;
    }
    if (info)
        *info = ri;
    return (int)total;
}

int netfront_recv(void *buf, size_t cap, uint64_t deadline_ns)
{
    return netfront_recv_info(buf, cap, deadline_ns, 0);
}

static bool any_rx_ready(void *ctx)
{
    (void)ctx;
    if (nf_backend_moved(0))
        return true;
    for (unsigned i = 0; i < nf.nr_queues; i++)
        if (rx_ready(&nf.q[i]))
            return true;
    return false;
}

int netfront_recv_info(void *buf, size_t cap, uint64_t deadline_ns, struct netfront_rxinfo *info)
{
    for (;;) {
        int up = nf_await_up(deadline_ns);
        if (up)
            return up;
        /* The queues take turns, so a busy one cannot starve the others. */
        bool lost = false;
        for (unsigned k = 0; k < nf.nr_queues && !lost; k++) {
            unsigned qi = (nf.rx_next + k) % nf.nr_queues;
            if (!rx_ready(&nf.q[qi]))
                continue;
            nf.rx_next = (qi + 1) % nf.nr_queues;
            int rc = queue_recv(qi, buf, cap, SLOT_DEADLINE, info, false);
            if (rc == -XEN_ENOTCONN && nf.follow)
                lost = true; /* nf_await_up above waits for the new backend */
            else if (rc != -XEN_EAGAIN)
                return rc;
        }
        if (lost)
            continue;
        if (deadline_ns == 0)
            return -XEN_ETIMEDOUT;
        int rc = wait_until(any_rx_ready, 0, deadline_ns);
        if (rc)
            return rc;
    }
}

int netfront_queue_recv(unsigned queue, void *buf, size_t cap, uint64_t deadline_ns)
{
    if (!nf.up || queue >= nf.nr_queues)
        return -XEN_ENODEV;
    int rc;
    if (deadline_ns == SLOT_DEADLINE)
        deadline_ns--; /* a caller's "never", not a slot's wait */
    while ((rc = queue_recv(queue, buf, cap, deadline_ns, 0, true)) == -XEN_EAGAIN)
        ;
    return rc;
}

unsigned netfront_rx_errors(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nf.nr_queues; i++)
        n += nf.q[i].rx_errors;
    return n;
}

const void *netfront_rx_buffer(unsigned queue, unsigned id)
{
    return queue < NETFRONT_MAX_QUEUES && id < NR_RX ? nf_pages[queue].rx_buf[id] : 0;
}

int netfront_ring_state(unsigned queue, struct netfront_ring_state *st)
{
    if (!nf.up || queue >= nf.nr_queues)
        return -XEN_ENODEV;
    const struct nf_queue *q = &nf.q[queue];
    *st = (struct netfront_ring_state){.rx_rsp_prod = q->rx.sring->rsp_prod,
                                       .rx_rsp_cons = q->rx.rsp_cons,
                                       .tx_rsp_prod = q->tx.sring->rsp_prod,
                                       .tx_rsp_cons = q->tx.rsp_cons};
    return 0;
}

bool netfront_has_gso(unsigned gso_type)
{
    return gso_type == XEN_NETIF_GSO_TYPE_TCPV4   ? nf.be_gso4
           : gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? nf.be_gso6
                                                  : false;
}
