/* The runtime netfront following a backend that dies and comes back (netfront_follow_restarts).
 * A network driver domain destroyed (or crashed) under us: xl writes Closed into our backend,
 * then removes its tree; a driver domain of the same name built again gets a new backend
 * directory for this vif and the toolstack points our `backend` at it. As Linux's netfront on
 * a backend reconnect: the TX frames in flight are dropped (and counted), the old grants
 * ended, and the handshake runs again with new rings, new grants for every RX buffer and new
 * ports, on every queue.
 * Invariant: all of it runs on the vCPU that takes upcalls (it talks to xenstore); the polling
 * per-queue calls of secondary vCPUs never get here. */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/xenbus.h>

#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/time.h"
#include "guest/xenbus.h"
#include "netfront_priv.h"

static void backend_watch_cb(const char *path, const char *token, void *ctx)
{
    (void)path, (void)token, (void)ctx;
    nf.be_changed = true;
}

bool nf_backend_moved(void *ctx)
{
    (void)ctx;
    if (!nf.follow)
        return false;
    xenbus_dispatch_watches();
    return nf.be_changed;
}

static void watch(const char *path, bool on)
{
    if (on)
        xenbus_watch(path, nf.token, backend_watch_cb, 0);
    else
        xenbus_unwatch(path, nf.token);
}

static void watch_backend_state(bool on)
{
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", nf.be_path);
    watch(path, on);
}

static void watch_backend_node(bool on)
{
    char path[64];
    guest_snprintf(path, sizeof(path), "device/vif/%u/backend", nf.devid);
    watch(path, on);
}

/* The backend's state (Closed once it is gone: xenbus_read_state). */
static int dead_backend_state(void)
{
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", nf.be_path);
    return xenbus_read_state(path);
}

/* Only an explicit online=0 is the toolstack detaching the vif; a vanished one says nothing. */
static bool backend_online(void)
{
    char path[160];
    unsigned long v = 1;
    guest_snprintf(path, sizeof(path), "%s/online", nf.be_path);
    return nf_read_uint(path, &v) || v != 0;
}

static void end_grant(grant_ref_t *ref)
{
    /* A grant the dead backend still maps stays out of the free list (leaked), never reused. */
    if (*ref && gnttab_end_access(*ref) == -XEN_EBUSY)
        hv_printf("netfront: grant %u still mapped by the old backend: leaked\n", *ref);
    *ref = 0;
}

/* Everything of the old backend let go: in-flight TX counted as dropped, grants ended, ports
 * closed (nf_forget_backend finds the refs already cleared). */
static void drop_backend(void)
{
    for (unsigned qi = 0; qi < NETFRONT_MAX_QUEUES; qi++) {
        struct nf_queue *q = &nf.q[qi];
        for (unsigned i = 0; i < NR_TX; i++)
            if (q->tx_busy[i])
                nf.tx_dropped++;
        end_grant(&q->tx_ring_ref);
        end_grant(&q->rx_ring_ref);
        for (unsigned i = 0; i < NR_TX; i++)
            end_grant(&q->tx_gref[i]);
        for (unsigned i = 0; i < NR_RX; i++)
            end_grant(&q->rx_gref[i]);
    }
    nf_forget_backend();
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
    if (nf_connect(nf.mac)) {
        drop_backend(); /* a backend that refused, or vanished mid-handshake: the next one */
        set_fe_state("1");
        return;
    }
    watch_backend_node(false);
    nf.waiting = false;
    nf.reconnects++;
}

void nf_follow_backend(void)
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

int nf_await_up(uint64_t deadline_ns)
{
    nf_follow_backend();
    while (!nf.up) {
        if (!nf.waiting)
            return -XEN_ENODEV;
        if (!deadline_ns)
            return -XEN_ETIMEDOUT;
        int rc = wait_until(nf_backend_moved, 0, deadline_ns);
        if (rc)
            return rc;
        nf_follow_backend();
    }
    return 0;
}

void nf_follow_moved(const char *old_be)
{
    if (!nf.follow || !strcmp(old_be, nf.be_path))
        return;
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", old_be);
    watch(path, false);
    watch_backend_state(true);
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
