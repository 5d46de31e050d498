/* The guest netfront (see guest/netfront.h). Rings and buffers are static pages of the image
 * (identity-mapped, so a page's frame is its address >> 12), granted to the backend once.
 * A frame larger than a page spans several slots (feature-sg), one buffer page each; a GSO
 * frame has its extra info in the slot after the first, both ways.
 * Invariants: a TX buffer is reused only after its response came back; every RX buffer is
 * reposted as soon as its slot is copied out, so the backend always has NR_RX buffers less
 * the slots not yet read. The backend's response index is checked against what we produced
 * before each read, so a backend that overruns a ring cannot make us read garbage.
 * After a resume in a new domain the vif reconnects by itself (a guest_suspend resume hook), as
 * Linux's netfront_resume: frames still in the TX ring are dropped (the network loses frames
 * anyway), every RX buffer is posted again on the new rings. With netfront_follow_restarts a
 * backend that dies under a running guest (its driver domain destroyed) is waited for and
 * connected to again the same way, its old grants ended first. */
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

#define PAGE 4096
#define NR_TX 32
#define NR_RX 64
#define MS 1000000ULL

static uint8_t tx_ring_page[PAGE] __attribute__((aligned(PAGE)));
static uint8_t rx_ring_page[PAGE] __attribute__((aligned(PAGE)));
static uint8_t tx_buf[NR_TX][PAGE] __attribute__((aligned(PAGE)));
static uint8_t rx_buf[NR_RX][PAGE] __attribute__((aligned(PAGE)));

static struct {
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    grant_ref_t tx_gref[NR_TX], rx_gref[NR_RX];
    grant_ref_t tx_ring_ref, rx_ring_ref;
    unsigned devid;
    struct guest_resume_hook resume_hook;
    bool tx_busy[NR_TX];
    /* The buffer posted at each RX ring index: an extra-info slot names none of its own. */
    uint16_t rx_id_at[PAGE / sizeof(union netif_rx_sring_entry)];
    evtchn_port_t tx_port, rx_port; /* equal without split event channels */
    domid_t backend_id;
    bool be_sg, be_gso4, be_gso6, split;
    unsigned rx_errors;
    bool up;
    /* Following a backend that dies and comes back (netfront_follow_restarts). */
    bool follow, waiting, be_changed;
    char be_path[128];
    char token[24];
    uint8_t mac[6];
    unsigned long reconnects, tx_dropped;
} nf;

static void on_event(evtchn_port_t port, void *data)
{
    (void)port, (void)data; /* the waits re-check the rings */
}

static int read_uint(const char *path, unsigned long *out)
{
    char buf[24];
    int n = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 ? n : -XEN_EINVAL;
    unsigned long v = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -XEN_EINVAL;
        v = v * 10 + (unsigned long)(buf[i] - '0');
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
    return read_uint(path, &v) == 0 && v == 1;
}

/* Polls <be>/state until it equals want (or the deadline). */
static int wait_backend_state(const char *be, unsigned long want)
{
    char path[128];
    guest_snprintf(path, sizeof(path), "%s/state", be);
    uint64_t deadline = monotonic_ns() + NETFRONT_TIMEOUT_NS;
    for (;;) {
        unsigned long st = 0;
        if (read_uint(path, &st) == 0 && st == want)
            return 0;
        if (st == XenbusStateClosed || st == XenbusStateClosing)
            return -XEN_ENODEV;
        if (monotonic_ns() > deadline)
            return -XEN_ETIMEDOUT;
        sleep_ns(2 * MS);
    }
}

static void post_rx(unsigned id)
{
    netif_rx_request_t *r = RING_GET_REQUEST(&nf.rx, nf.rx.req_prod_pvt);
    nf.rx_id_at[nf.rx.req_prod_pvt % RING_SIZE(&nf.rx)] = (uint16_t)id;
    r->id = (uint16_t)id;
    r->gref = nf.rx_gref[id];
    nf.rx.req_prod_pvt++;
}

static void push_rx(void)
{
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.rx, notify);
    if (notify)
        evtchn_send(nf.rx_port);
}

static int grant_all(void)
{
    int rc = 0;
    for (unsigned i = 0; i < NR_TX && !rc; i++)
        rc = gnttab_grant_access(nf.backend_id, (uintptr_t)tx_buf[i] >> 12, true, &nf.tx_gref[i]);
    for (unsigned i = 0; i < NR_RX && !rc; i++)
        rc = gnttab_grant_access(nf.backend_id, (uintptr_t)rx_buf[i] >> 12, false, &nf.rx_gref[i]);
    return rc;
}

static int write_keys(const char *fe, grant_ref_t txr, grant_ref_t rxr)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        xenbus_transaction_t t;
        char path[160], val[16];
        int rc = xenbus_transaction_start(&t);
        if (rc)
            return rc;
#define W(key, ...)                                                                                \
    do {                                                                                           \
        guest_snprintf(path, sizeof(path), "%s/%s", fe, key);                                      \
        guest_snprintf(val, sizeof(val), __VA_ARGS__);                                             \
        if (!rc)                                                                                   \
            rc = xenbus_write(t, path, val);                                                       \
    } while (0)
        W(NETIF_KEY_TX_RING_REF, "%u", txr);
        W(NETIF_KEY_RX_RING_REF, "%u", rxr);
        if (nf.split) {
            W(NETIF_KEY_EVENT_CHANNEL_TX, "%u", nf.tx_port);
            W(NETIF_KEY_EVENT_CHANNEL_RX, "%u", nf.rx_port);
        } else {
            W(NETIF_KEY_EVENT_CHANNEL, "%u", nf.tx_port);
        }
        W(NETIF_KEY_REQUEST_RX_COPY, "1");
        W(NETIF_KEY_FEATURE_RX_NOTIFY, "1");
        /* RX: several slots per frame and GSO frames with their extra are understood. */
        W(NETIF_KEY_FEATURE_SG, "1");
        W(NETIF_KEY_FEATURE_GSO_TCPV4, "1");
        W(NETIF_KEY_FEATURE_GSO_TCPV6, "1");
        W(NETIF_KEY_FEATURE_IPV6_CSUM_OFFLOAD, "0");
#undef W
        int end = xenbus_transaction_end(t, rc != 0);
        if (rc)
            return rc;
        if (end != -XEN_EAGAIN)
            return end;
    }
    return -XEN_EAGAIN;
}

/* The handshake of device/vif/<nf.devid>: backend features, rings, grants, ports, keys,
 * Connected. mac gets the vif's MAC. */
static int connect(uint8_t mac[6])
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
    if ((rc = read_uint(path, &bid)) != 0)
        return rc;
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
    if (read_uint(path, &copy) || copy != 1)
        return -XEN_ENODEV; /* as Linux: no copying receive path, no device */
    nf.be_sg = be_feature(be, NETIF_KEY_FEATURE_SG);
    nf.be_gso4 = nf.be_sg && be_feature(be, NETIF_KEY_FEATURE_GSO_TCPV4);
    nf.be_gso6 = nf.be_sg && be_feature(be, NETIF_KEY_FEATURE_GSO_TCPV6);
    nf.split = be_feature(be, NETIF_KEY_FEATURE_SPLIT_EVENT_CHANNELS);
    netif_tx_sring_t *txs = (netif_tx_sring_t *)tx_ring_page;
    netif_rx_sring_t *rxs = (netif_rx_sring_t *)rx_ring_page;
    memset(tx_ring_page, 0, PAGE);
    memset(rx_ring_page, 0, PAGE);
    SHARED_RING_INIT(txs);
    SHARED_RING_INIT(rxs);
    FRONT_RING_INIT(&nf.tx, txs, PAGE);
    FRONT_RING_INIT(&nf.rx, rxs, PAGE);
    if ((rc = gnttab_grant_access(nf.backend_id, (uintptr_t)tx_ring_page >> 12, false,
                                  &nf.tx_ring_ref)) ||
        (rc = gnttab_grant_access(nf.backend_id, (uintptr_t)rx_ring_page >> 12, false,
                                  &nf.rx_ring_ref)) ||
        (rc = grant_all()) || (rc = evtchn_alloc_unbound(nf.backend_id, &nf.tx_port)) ||
        (rc = evtchn_bind(nf.tx_port, on_event, 0)))
        return rc;
    nf.rx_port = nf.tx_port;
    if (nf.split && ((rc = evtchn_alloc_unbound(nf.backend_id, &nf.rx_port)) ||
                     (rc = evtchn_bind(nf.rx_port, on_event, 0))))
        return rc;
    for (unsigned i = 0; i < NR_RX; i++)
        post_rx(i);
    RING_PUSH_REQUESTS(&nf.rx);
    if ((rc = write_keys(fe, nf.tx_ring_ref, nf.rx_ring_ref)) != 0)
        return rc;
    guest_snprintf(path, sizeof(path), "%s/state", fe);
    if ((rc = xenbus_write(XBT_NIL, path, "4")) != 0)
        return rc;
    if ((rc = wait_backend_state(be, XenbusStateConnected)) != 0)
        return rc;
    nf.up = true;
    evtchn_send(nf.rx_port); /* the backend looks at the posted RX buffers */
    return 0;
}

static void forget_grant(grant_ref_t *ref)
{
    if (*ref)
        gnttab_forget(*ref);
    *ref = 0;
}

/* The old host's backend is gone with the old domain: its ports are closed, its grants
 * forgotten (their busy bits came with the page and are stale), TX frames in flight dropped. */
static void forget_backend(void)
{
    if (nf.rx_port && nf.rx_port != nf.tx_port) {
        evtchn_unbind(nf.rx_port);
        evtchn_close(nf.rx_port);
    }
    if (nf.tx_port) {
        evtchn_unbind(nf.tx_port);
        evtchn_close(nf.tx_port);
    }
    nf.tx_port = nf.rx_port = 0;
    forget_grant(&nf.tx_ring_ref);
    forget_grant(&nf.rx_ring_ref);
    for (unsigned i = 0; i < NR_TX; i++) {
        forget_grant(&nf.tx_gref[i]);
        nf.tx_busy[i] = false;
    }
    for (unsigned i = 0; i < NR_RX; i++)
        forget_grant(&nf.rx_gref[i]);
    nf.up = false;
}

static int resume_hook_fn(void *ctx, uint64_t deadline_ns)
{
    (void)ctx, (void)deadline_ns; /* the handshake keeps its own NETFRONT_TIMEOUT_NS bound */
    uint8_t mac[6];
    forget_backend();
    int rc = connect(mac);
    if (rc)
        guest_resume_unregister(&nf.resume_hook);
    return rc;
}

int netfront_init(unsigned devid, uint8_t mac[6])
{
    nf.devid = devid;
    int rc = connect(mac);
    if (rc)
        return rc;
    nf.resume_hook = (struct guest_resume_hook){.fn = resume_hook_fn};
    guest_resume_register(&nf.resume_hook);
    return 0;
}

/* ---- A backend that dies and comes back ------------------------------------------------------
 * A network driver domain destroyed (or crashed) under us: xl writes Closed into our backend,
 * then removes its tree; a driver domain of the same name built again gets a new backend
 * directory for this vif and the toolstack points our `backend` at it. As Linux's netfront on
 * a backend reconnect: the TX frames in flight are dropped (and counted), the old grants
 * ended, and the handshake runs again with new rings, new grants for every RX buffer and new
 * ports. */

static void backend_watch_cb(const char *path, const char *token, void *ctx)
{
    (void)path, (void)token, (void)ctx;
    nf.be_changed = true;
}

/* A wait_until condition: pumps xenstore and looks at the flag. */
static bool backend_moved(void *ctx)
{
    (void)ctx;
    if (!nf.follow)
        return false;
    xenbus_dispatch_watches();
    return nf.be_changed;
}

static void watch_backend_state(bool on)
{
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", nf.be_path);
    if (on)
        xenbus_watch(path, nf.token, backend_watch_cb, 0);
    else
        xenbus_unwatch(path, nf.token);
}

static void watch_backend_node(bool on)
{
    char path[64];
    guest_snprintf(path, sizeof(path), "device/vif/%u/backend", nf.devid);
    if (on)
        xenbus_watch(path, nf.token, backend_watch_cb, 0);
    else
        xenbus_unwatch(path, nf.token);
}

/* The backend's state; a directory removed (ENOENT), or the whole driver domain's tree with
 * it (EACCES: the parent is no longer ours to read), is Closed. */
static int dead_backend_state(void)
{
    char path[160];
    unsigned long st = 0;
    guest_snprintf(path, sizeof(path), "%s/state", nf.be_path);
    int rc = read_uint(path, &st);
    if (rc == -XEN_ENOENT || rc == -XEN_EACCES)
        return XenbusStateClosed;
    return rc ? rc : (int)st;
}

/* Only an explicit online=0 is the toolstack detaching the vif; a vanished one says nothing. */
static bool backend_online(void)
{
    char path[160];
    unsigned long v = 1;
    guest_snprintf(path, sizeof(path), "%s/online", nf.be_path);
    return read_uint(path, &v) || v != 0;
}

static void end_grant(grant_ref_t *ref)
{
    /* A grant the dead backend still maps stays out of the free list (leaked), never reused. */
    if (*ref && gnttab_end_access(*ref) == -XEN_EBUSY)
        hv_printf("netfront: grant %u still mapped by the old backend: leaked\n", *ref);
    *ref = 0;
}

/* Everything of the old backend let go: in-flight TX counted as dropped, grants ended, ports
 * closed (forget_backend finds the refs already cleared). */
static void drop_backend(void)
{
    for (unsigned i = 0; i < NR_TX; i++)
        if (nf.tx_busy[i])
            nf.tx_dropped++;
    end_grant(&nf.tx_ring_ref);
    end_grant(&nf.rx_ring_ref);
    for (unsigned i = 0; i < NR_TX; i++)
        end_grant(&nf.tx_gref[i]);
    for (unsigned i = 0; i < NR_RX; i++)
        end_grant(&nf.rx_gref[i]);
    forget_backend();
}

static void set_fe_state(const char *st)
{
    char path[64];
    guest_snprintf(path, sizeof(path), "device/vif/%u/state", nf.devid);
    xenbus_write(XBT_NIL, path, st);
}

/* Waiting: the toolstack names a backend; once it is in InitWait, the handshake again. */
static void try_reconnect(void)
{
    char path[64], be[sizeof(nf.be_path)];
    guest_snprintf(path, sizeof(path), "device/vif/%u/backend", nf.devid);
    if (xenbus_read(XBT_NIL, path, be, sizeof(be)) < 0)
        return;
    if (strcmp(be, nf.be_path)) {
        watch_backend_state(false);
        strlcpy(nf.be_path, be, sizeof(nf.be_path));
        watch_backend_state(true);
    }
    if (dead_backend_state() != XenbusStateInitWait)
        return;
    if (connect(nf.mac)) {
        drop_backend(); /* a backend that refused, or vanished mid-handshake: the next one */
        set_fe_state("1");
        return;
    }
    watch_backend_node(false);
    nf.waiting = false;
    nf.reconnects++;
}

static void follow_backend(void)
{
    if (!nf.follow || !nf.be_changed)
        return;
    nf.be_changed = false;
    if (nf.waiting) {
        try_reconnect();
        return;
    }
    int st = dead_backend_state();
    if (!nf.up || (st != XenbusStateClosed && st != XenbusStateClosing) || !backend_online())
        return;
    drop_backend();
    nf.waiting = true;
    set_fe_state("1");
    watch_backend_node(true);
    nf.be_changed = true; /* the new backend may already be named: look once now */
    try_reconnect();
    nf.be_changed = false;
}

/* 0 once the vif is up, waiting (up to deadline_ns; 0 = not at all) for a restarted backend. */
static int await_up(uint64_t deadline_ns)
{
    follow_backend();
    while (!nf.up) {
        if (!nf.waiting)
            return -XEN_ENODEV;
        if (!deadline_ns)
            return -XEN_ETIMEDOUT;
        int rc = wait_until(backend_moved, 0, deadline_ns);
        if (rc)
            return rc;
        follow_backend();
    }
    return 0;
}

int netfront_follow_restarts(void)
{
    if (!nf.up)
        return -XEN_ENODEV;
    guest_snprintf(nf.token, sizeof(nf.token), "netfront-%u", nf.devid);
    nf.follow = true;
    watch_backend_state(true);
    return 0;
}

unsigned long netfront_reconnects(void)
{
    return nf.reconnects;
}

unsigned long netfront_tx_dropped(void)
{
    return nf.tx_dropped;
}

/* Frees the TX buffers whose responses came back. */
static void reap_tx(void)
{
    for (;;) {
        RING_IDX prod = nf.tx.sring->rsp_prod;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        /* Buggy or malicious backend: more responses than requests. */
        if (prod - nf.tx.rsp_cons > nf.tx.req_prod_pvt - nf.tx.rsp_cons)
            return;
        while (nf.tx.rsp_cons != prod) {
            netif_tx_response_t rsp = *RING_GET_RESPONSE(&nf.tx, nf.tx.rsp_cons);
            nf.tx.rsp_cons++;
            if (rsp.status != NETIF_RSP_NULL && rsp.id < NR_TX)
                nf.tx_busy[rsp.id] = false;
        }
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&nf.tx, more);
        if (!more)
            return;
    }
}

static unsigned nr_free_tx(void)
{
    reap_tx();
    unsigned n = 0;
    for (int i = 0; i < NR_TX; i++)
        n += !nf.tx_busy[i];
    return n;
}

static bool tx_free_cond(void *ctx)
{
    return backend_moved(0) || nr_free_tx() >= *(unsigned *)ctx;
}

static int take_tx(void)
{
    for (int i = 0; i < NR_TX; i++) {
        if (!nf.tx_busy[i]) {
            nf.tx_busy[i] = true;
            return i;
        }
    }
    return -1; /* not reached: the caller waited for enough */
}

int netfront_send(const void *frame, size_t len, uint64_t deadline_ns)
{
    return netfront_send_opt(frame, len, 0, deadline_ns);
}

int netfront_send_opt(const void *frame, size_t len, const struct netfront_txopt *opt,
                      uint64_t deadline_ns)
{
    int rc = await_up(deadline_ns);
    if (rc)
        return rc;
    if (len < 14 || len > (nf.be_sg ? NETFRONT_MAX_FRAME : NETFRONT_MTU_FRAME))
        return -XEN_EINVAL;
    bool gso = opt && opt->gso_type != XEN_NETIF_GSO_TYPE_NONE;
    if (gso && !(opt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4   ? nf.be_gso4
                 : opt->gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? nf.be_gso6
                                                             : false))
        return -XEN_EOPNOTSUPP;
    unsigned need = (unsigned)((len + PAGE - 1) / PAGE);
    while (nr_free_tx() < need) {
        if ((rc = wait_until(tx_free_cond, &need, deadline_ns)) != 0)
            return rc;
        if ((rc = await_up(deadline_ns)) != 0) /* the backend went away meanwhile */
            return rc;
    }
    const uint8_t *src = frame;
    for (unsigned i = 0; i < need; i++) {
        size_t n = len - (size_t)i * PAGE < PAGE ? len - (size_t)i * PAGE : PAGE;
        int id = take_tx();
        memcpy(tx_buf[id], src + (size_t)i * PAGE, n);
        uint16_t flags = i + 1 < need ? NETTXF_more_data : 0;
        if (i == 0) {
            if (opt && opt->csum_blank)
                flags |= NETTXF_csum_blank | NETTXF_data_validated;
            if (gso)
                flags |= NETTXF_extra_info;
        }
        netif_tx_request_t *r = RING_GET_REQUEST(&nf.tx, nf.tx.req_prod_pvt);
        /* The first slot's size is the whole frame's; the others carry their own. */
        *r = (netif_tx_request_t){.gref = nf.tx_gref[id],
                                  .offset = 0,
                                  .flags = flags,
                                  .id = (uint16_t)id,
                                  .size = (uint16_t)(i == 0 ? len : n)};
        nf.tx.req_prod_pvt++;
        if (i == 0 && gso) {
            /* The extra takes the next request slot as its bytes. */
            netif_extra_info_t ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
            ex.u.gso.size = opt->gso_size;
            ex.u.gso.type = opt->gso_type;
            memcpy(RING_GET_REQUEST(&nf.tx, nf.tx.req_prod_pvt), &ex, sizeof(ex));
            nf.tx.req_prod_pvt++;
        }
    }
    int notify;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf.tx, notify);
    if (notify)
        evtchn_send(nf.tx_port);
    return 0;
}

static bool rx_ready(void *ctx)
{
    (void)ctx;
    if (backend_moved(0))
        return true;
    reap_tx();
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&nf.rx, more);
    return more;
}

/* The next RX response (waiting up to deadline_ns), or a negative errno. at gets its ring
 * index. */
static int next_rx(netif_rx_response_t *rsp, RING_IDX *at, uint64_t deadline_ns)
{
    if (!rx_ready(0)) {
        if (deadline_ns == 0)
            return -XEN_ETIMEDOUT;
        int rc = wait_until(rx_ready, 0, deadline_ns);
        if (rc)
            return rc;
    }
    if (nf.be_changed) {
        follow_backend();
        if (!nf.up)
            return -XEN_ENOTCONN; /* the rings are gone: the frame in progress with them */
    }
    RING_IDX prod = nf.rx.sring->rsp_prod;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    /* Buggy or malicious backend: more responses than buffers posted. */
    if (prod - nf.rx.rsp_cons > nf.rx.req_prod_pvt - nf.rx.rsp_cons)
        return -XEN_EIO;
    *at = nf.rx.rsp_cons;
    *rsp = *RING_GET_RESPONSE(&nf.rx, nf.rx.rsp_cons);
    nf.rx.rsp_cons++;
    return 0;
}

int netfront_recv(void *buf, size_t cap, uint64_t deadline_ns)
{
    return netfront_recv_info(buf, cap, deadline_ns, 0);
}

int netfront_recv_info(void *buf, size_t cap, uint64_t deadline_ns, struct netfront_rxinfo *info)
{
    for (;;) {
        int up = await_up(deadline_ns);
        if (up)
            return up;
        size_t total = 0;
        bool ok = true, lost = false;
        struct netfront_rxinfo ri = {0};
        netif_rx_response_t rsp;
        RING_IDX at;
        /* Once a frame's first slot is read, its other slots are published with it: a short
         * wait for them only guards against a backend that never sends them. */
        for (unsigned slot = 0;; slot++) {
            int rc =
                next_rx(&rsp, &at, slot == 0 ? deadline_ns : monotonic_ns() + NETFRONT_SLOT_NS);
            if (rc == -XEN_ENOTCONN && nf.waiting) {
                lost = true; /* await_up above waits for the new backend */
                break;
            }
            if (rc)
                return rc;
            if (rsp.id >= NR_RX)
                return -XEN_EIO; /* Buggy or malicious backend: an id we never posted. */
            int len = rsp.status;
            if (len > 0 && total + (size_t)len <= cap && rsp.offset + (unsigned)len <= PAGE)
                memcpy((uint8_t *)buf + total, rx_buf[rsp.id] + rsp.offset, (size_t)len);
            else
                ok = false;
            total += len > 0 ? (size_t)len : 0;
            post_rx(rsp.id);
            if (slot == 0) {
                ri.flags = rsp.flags;
                if (rsp.flags & NETRXF_extra_info) {
                    netif_rx_response_t x;
                    if ((rc = next_rx(&x, &at, monotonic_ns() + NETFRONT_SLOT_NS)) != 0)
                        return rc;
                    netif_extra_info_t ex;
                    memcpy(&ex, &x, sizeof(ex));
                    if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
                        ri.gso_type = ex.u.gso.type;
                        ri.gso_size = ex.u.gso.size;
                    }
                    /* Buggy or malicious backend: more than the one extra we asked for. */
                    if (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE)
                        ok = false;
                    post_rx(nf.rx_id_at[at % RING_SIZE(&nf.rx)]);
                }
            }
            if (!(rsp.flags & NETRXF_more_data))
                break;
        }
        if (lost)
            continue;
        push_rx();
        if (ok) {
            if (info)
                *info = ri;
            return (int)total;
        }
        nf.rx_errors++;
    }
}
unsigned netfront_rx_errors(void)
{
    return nf.rx_errors;
}

bool netfront_has_gso(unsigned gso_type)
{
    return gso_type == XEN_NETIF_GSO_TYPE_TCPV4   ? nf.be_gso4
           : gso_type == XEN_NETIF_GSO_TYPE_TCPV6 ? nf.be_gso6
                                                  : false;
}
