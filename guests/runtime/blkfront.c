/* blkfront control plane: the xenstore handshake of a vbd as Linux 6.1's xen-blkfront does it
 * (talk_to_blkback, blkfront_connect, blkfront_closing), and teardown from either side.
 *
 * Invariant: the frontend writes only its own directory (device/vbd/<devid>) and reads the
 * backend's; every value read from the backend is range-checked before it sizes anything
 * (the backend is trusted with data, not with our memory). */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/xenbus.h>

#include "guest/blkfront.h"
#include "guest/gnttab.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#define XENBUS_RETRIES 8 /* transactions that keep losing to other writers */

void blkfront_config_default(struct blkfront_config *cfg)
{
    cfg->ring_page_order = 0;
    cfg->max_queues = 4;
    cfg->max_indirect_segments = 32;
    cfg->persistent = true;
    cfg->reconnect = false;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -XEN_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -XEN_EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int read_u64(const char *dir, const char *key, uint64_t *out)
{
    char path[192], buf[32];
    guest_snprintf(path, sizeof(path), "%s/%s", dir, key);
    int rc = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    return rc < 0 ? rc : parse_u64(buf, out);
}

/* An absent or unparsable optional key reads as def, as xenbus_read_unsigned does. */
static uint64_t read_u64_default(const char *dir, const char *key, uint64_t def)
{
    uint64_t v;
    return read_u64(dir, key, &v) ? def : v;
}

static int write_key(xenbus_transaction_t t, const char *dir, const char *key, const char *fmt,
                     unsigned long long v)
{
    char path[192], val[32];
    guest_snprintf(path, sizeof(path), "%s/%s", dir, key);
    guest_snprintf(val, sizeof(val), fmt, v);
    return xenbus_write(t, path, val);
}

static int switch_state(struct blkfront *dev, enum xenbus_state st)
{
    return write_key(XBT_NIL, dev->node, "state", "%llu", st);
}

static int backend_state(const struct blkfront *dev)
{
    char path[192];
    guest_snprintf(path, sizeof(path), "%s/state", dev->backend);
    return xenbus_read_state(path);
}

int blkfront_list(unsigned *devids, unsigned max)
{
    static char names[1024];
    int n = xenbus_directory(XBT_NIL, "device/vbd", names, sizeof(names));
    if (n < 0)
        return n;
    unsigned found = 0;
    const char *p = names;
    for (int i = 0; i < n && found < max; i++, p += strlen(p) + 1) {
        uint64_t v;
        if (!parse_u64(p, &v) && v <= UINT32_MAX)
            devids[found++] = (unsigned)v;
    }
    return (int)found;
}

static void backend_watch_cb(const char *path, const char *token, void *ctx)
{
    (void)path;
    (void)token;
    ((struct blkfront *)ctx)->backend_changed = true;
}

/* Runs with interrupts off inside wait_until: only pumps xenstore and looks at flags. */
static bool backend_moved(void *ctx)
{
    struct blkfront *dev = ctx;
    xenbus_dispatch_watches();
    return dev->backend_changed;
}

/* Waits until the backend's state is want; a Closing or Closed backend ends the wait with
 * -ENODEV (the device is being removed, or the backend refused our keys). */
static int wait_backend(struct blkfront *dev, enum xenbus_state want, uint64_t deadline_ns)
{
    for (;;) {
        dev->backend_changed = false;
        int st = backend_state(dev);
        if (st < 0)
            return st;
        if (st == (int)want)
            return 0;
        if (st == XenbusStateClosing || st == XenbusStateClosed)
            return -XEN_ENODEV;
        int rc = wait_until(backend_moved, dev, deadline_ns);
        if (rc)
            return rc;
    }
}

static int read_otherend(struct blkfront *dev)
{
    char path[96];
    uint64_t id;
    int rc = read_u64(dev->node, "backend-id", &id);
    if (rc)
        return rc;
    if (id >= DOMID_FIRST_RESERVED)
        return -XEN_EINVAL;
    dev->backend_id = (domid_t)id;
    guest_snprintf(path, sizeof(path), "%s/backend", dev->node);
    rc = xenbus_read(XBT_NIL, path, dev->backend, sizeof(dev->backend));
    if (rc < 0)
        return rc;
    return dev->backend[0] == '/' ? 0 : -XEN_EINVAL;
}

static unsigned min_u(uint64_t a, uint64_t b)
{
    return (unsigned)(a < b ? a : b);
}

/* The ring keys of one transaction: flat for one queue, queue-N/ for several. */
static int write_ring_keys(struct blkfront *dev, xenbus_transaction_t t)
{
    unsigned nq = dev->info.nr_queues, order = dev->info.ring_page_order;
    int rc = 0;
    if (order)
        rc = write_key(t, dev->node, BLKIF_KEY_RING_PAGE_ORDER, "%llu", order);
    if (!rc && nq > 1)
        rc = write_key(t, dev->node, BLKIF_KEY_MULTI_QUEUE_NUM_QUEUES, "%llu", nq);
    for (unsigned q = 0; !rc && q < nq; q++) {
        char dir[96], key[24];
        if (nq > 1)
            guest_snprintf(dir, sizeof(dir), "%s/queue-%u", dev->node, q);
        else
            strlcpy(dir, dev->node, sizeof(dir));
        for (unsigned i = 0; !rc && i < (1u << order); i++) {
            if (order)
                guest_snprintf(key, sizeof(key), BLKIF_KEY_RING_REF "%u", i);
            else
                strlcpy(key, BLKIF_KEY_RING_REF, sizeof(key));
            rc = write_key(t, dir, key, "%llu", dev->queues[q].ring_refs[i]);
        }
        if (!rc)
            rc = write_key(t, dir, BLKIF_KEY_EVENT_CHANNEL, "%llu", dev->queues[q].port);
    }
    if (!rc) {
        char path[96];
        guest_snprintf(path, sizeof(path), "%s/" BLKIF_KEY_PROTOCOL, dev->node);
        rc = xenbus_write(t, path, "x86_64-abi");
    }
    if (!rc)
        rc = write_key(t, dev->node, BLKIF_KEY_FEATURE_PERSISTENT, "%llu", dev->cfg.persistent);
    return rc;
}

static int publish_rings(struct blkfront *dev)
{
    for (int attempt = 0; attempt < XENBUS_RETRIES; attempt++) {
        xenbus_transaction_t t;
        int rc = xenbus_transaction_start(&t);
        if (rc)
            return rc;
        rc = write_ring_keys(dev, t);
        if (rc) {
            xenbus_transaction_end(t, 1);
            return rc;
        }
        rc = xenbus_transaction_end(t, 0);
        if (rc != -XEN_EAGAIN)
            return rc;
    }
    return -XEN_EAGAIN;
}

/* talk_to_blkback: sizes the rings from both sides' limits, grants them, publishes. */
static int talk_to_backend(struct blkfront *dev)
{
    uint64_t be_order = read_u64_default(dev->backend, BLKIF_KEY_MAX_RING_PAGE_ORDER, 0);
    uint64_t be_queues = read_u64_default(dev->backend, BLKIF_KEY_MULTI_QUEUE_MAX_QUEUES, 1);
    dev->info.ring_page_order =
        min_u(min_u(dev->cfg.ring_page_order, be_order), BLKFRONT_MAX_RING_ORDER);
    dev->info.nr_queues = min_u(min_u(dev->cfg.max_queues, be_queues), BLKFRONT_MAX_QUEUES);
    if (!dev->info.nr_queues)
        dev->info.nr_queues = 1;
    int rc = blkfront_ring_setup(dev);
    if (!rc)
        rc = publish_rings(dev);
    if (!rc)
        rc = switch_state(dev, XenbusStateInitialised);
    return rc;
}

/* blkfront_connect + blkfront_gather_backend_features. */
static int read_disk(struct blkfront *dev)
{
    struct blkfront_info *in = &dev->info;
    uint64_t sectors, ssize;
    int rc = read_u64(dev->backend, BLKIF_KEY_SECTORS, &sectors);
    if (!rc)
        rc = read_u64(dev->backend, BLKIF_KEY_SECTOR_SIZE, &ssize);
    if (rc)
        return rc;
    /* Buggy or malicious backend: a sector size that is no power of two in 512..4096. */
    if (ssize < 512 || ssize > 4096 || (ssize & (ssize - 1)))
        return -XEN_EINVAL;
    in->sectors = sectors;
    in->sector_size = (unsigned)ssize;
    in->physical_sector_size =
        (unsigned)read_u64_default(dev->backend, BLKIF_KEY_PHYSICAL_SECTOR_SIZE, ssize);
    in->info = (unsigned)read_u64_default(dev->backend, BLKIF_KEY_INFO, 0);
    in->readonly = in->info & VDISK_READONLY;
    in->flush = read_u64_default(dev->backend, BLKIF_KEY_FEATURE_FLUSH_CACHE, 0) == 1;
    in->barrier = read_u64_default(dev->backend, BLKIF_KEY_FEATURE_BARRIER, 0) == 1;
    in->discard = read_u64_default(dev->backend, BLKIF_KEY_FEATURE_DISCARD, 0) == 1;
    if (in->discard) {
        in->discard_granularity =
            (unsigned)read_u64_default(dev->backend, BLKIF_KEY_DISCARD_GRANULARITY, 0);
        in->discard_alignment =
            (unsigned)read_u64_default(dev->backend, BLKIF_KEY_DISCARD_ALIGNMENT, 0);
        in->discard_secure = read_u64_default(dev->backend, BLKIF_KEY_DISCARD_SECURE, 0) == 1;
    }
    in->persistent =
        dev->cfg.persistent && read_u64_default(dev->backend, BLKIF_KEY_FEATURE_PERSISTENT, 0) == 1;
    uint64_t indirect = read_u64_default(dev->backend, BLKIF_KEY_FEATURE_MAX_INDIRECT_SEGMENTS, 0);
    in->max_indirect_segments =
        min_u(min_u(indirect, dev->cfg.max_indirect_segments), BLKFRONT_MAX_SEGMENTS);
    /* Fewer than a direct request carries is no gain: Linux also falls back to direct. */
    if (in->max_indirect_segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
        in->max_indirect_segments = 0;
    return 0;
}

static int resume_hook_fn(void *ctx, uint64_t deadline_ns)
{
    return blkfront_reconnect(ctx, deadline_ns);
}

int blkfront_open(struct blkfront *dev, unsigned devid, const struct blkfront_config *cfg,
                  uint64_t deadline_ns)
{
    memset(dev, 0, sizeof(*dev));
    dev->devid = devid;
    dev->cfg = *cfg;
    guest_snprintf(dev->node, sizeof(dev->node), "device/vbd/%u", devid);
    guest_snprintf(dev->watch_token, sizeof(dev->watch_token), "blkfront-%u", devid);
    int rc = read_otherend(dev);
    if (rc)
        return rc;
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", dev->backend);
    rc = xenbus_watch(path, dev->watch_token, backend_watch_cb, dev);
    if (rc)
        return rc;
    rc = wait_backend(dev, XenbusStateInitWait, deadline_ns);
    if (!rc)
        rc = talk_to_backend(dev);
    if (!rc)
        rc = wait_backend(dev, XenbusStateConnected, deadline_ns);
    if (!rc)
        rc = read_disk(dev);
    if (!rc)
        rc = switch_state(dev, XenbusStateConnected);
    if (rc) {
        /* Say so, as xenbus_dev_fatal would, and give back what we granted. */
        switch_state(dev, XenbusStateClosed);
        blkfront_ring_teardown(dev, monotonic_ns() + 1000000000ull);
        xenbus_unwatch(path, dev->watch_token);
        return rc;
    }
    dev->state = BLKFRONT_CONNECTED;
    dev->resume_hook = (struct guest_resume_hook){.fn = resume_hook_fn, .ctx = dev};
    guest_resume_register(&dev->resume_hook);
    return 0;
}

const struct blkfront_info *blkfront_get_info(const struct blkfront *dev)
{
    return &dev->info;
}

bool blkfront_connected(const struct blkfront *dev)
{
    return dev->state == BLKFRONT_CONNECTED;
}

static void watch_path(const struct blkfront *dev, char *path, size_t len)
{
    guest_snprintf(path, len, "%s/state", dev->backend);
}

static void detach(struct blkfront *dev, uint64_t deadline_ns)
{
    guest_resume_unregister(&dev->resume_hook);
    blkfront_fail_inflight(dev);
    blkfront_ring_teardown(dev, deadline_ns);
    switch_state(dev, XenbusStateClosed);
    char path[160];
    guest_snprintf(path, sizeof(path), "%s/state", dev->backend);
    xenbus_unwatch(path, dev->watch_token);
}

/* The frontend's own `backend` node, watched while a new backend is awaited. */
static void backend_node_path(const struct blkfront *dev, char *path, size_t len)
{
    guest_snprintf(path, len, "%s/backend", dev->node);
}

/* The backend died while online (no toolstack detach, which sets online=0 first): as Xen's
 * frontends, reset to Initialising and wait for the toolstack to name a new backend. */
static void start_waiting(struct blkfront *dev)
{
    char path[160];
    dev->state = BLKFRONT_WAITING;
    dev->failed_attempts = 0;
    switch_state(dev, XenbusStateInitialising);
    backend_node_path(dev, path, sizeof(path));
    xenbus_watch(path, dev->watch_token, backend_watch_cb, dev);
}

#define RECONNECT_ATTEMPTS 3        /* failed handshakes in a row before the device is given up */
#define RECONNECT_NS 10000000000ull /* one handshake's bound */

/* A watch fired while waiting: a new backend in InitWait gets the handshake; the old ring's
 * grants are ended first (its domain is gone by now, so they are free, or leaked if not). */
static void try_reconnect(struct blkfront *dev)
{
    char old[sizeof(dev->backend)], path[160];
    dev->backend_changed = false;
    strlcpy(old, dev->backend, sizeof(old));
    if (read_otherend(dev))
        return;
    if (strcmp(old, dev->backend)) {
        guest_snprintf(path, sizeof(path), "%s/state", old);
        xenbus_unwatch(path, dev->watch_token);
        watch_path(dev, path, sizeof(path));
        xenbus_watch(path, dev->watch_token, backend_watch_cb, dev);
    }
    if (backend_state(dev) != XenbusStateInitWait)
        return;
    blkfront_ring_forget(dev, false);
    uint64_t deadline = monotonic_ns() + RECONNECT_NS;
    int rc = talk_to_backend(dev);
    if (!rc)
        rc = wait_backend(dev, XenbusStateConnected, deadline);
    if (!rc)
        rc = read_disk(dev);
    if (!rc)
        rc = switch_state(dev, XenbusStateConnected);
    if (rc) {
        /* A backend that refuses, or whose directory vanished mid-handshake: wait for the
         * next one, a few times, then give the device up. */
        switch_state(dev, XenbusStateInitialising);
        if (++dev->failed_attempts >= RECONNECT_ATTEMPTS) {
            dev->state = BLKFRONT_BACKEND_GONE;
            backend_node_path(dev, path, sizeof(path));
            xenbus_unwatch(path, dev->watch_token);
            detach(dev, monotonic_ns() + 1000000000ull);
        }
        return;
    }
    backend_node_path(dev, path, sizeof(path));
    xenbus_unwatch(path, dev->watch_token);
    dev->state = BLKFRONT_CONNECTED;
    dev->reconnects++;
    blkfront_ring_replay(dev);
}

static bool backend_online(const struct blkfront *dev)
{
    uint64_t online;
    /* A directory that vanished says nothing: only an explicit online=0 is a detach. */
    return read_u64(dev->backend, "online", &online) || online != 0;
}

/* Called from poll when the backend's state node fired. A backend that goes Closing (the
 * toolstack detaches the disk) gets what Linux's blkfront_closing gives it: no new requests,
 * the outstanding ones answered or failed, the grants back, and the frontend Closed. */
void blkfront_follow_backend(struct blkfront *dev)
{
    if (dev->state == BLKFRONT_WAITING && dev->backend_changed) {
        try_reconnect(dev);
        return;
    }
    if ((!dev->backend_changed && !dev->ring_broken) || dev->state != BLKFRONT_CONNECTED)
        return;
    dev->backend_changed = false;
    int st = backend_state(dev);
    /* A resize (sectors changed while Connected) is not followed. */
    if (!dev->ring_broken && st != XenbusStateClosing && st != XenbusStateClosed)
        return;
    if (dev->cfg.reconnect && !dev->ring_broken && st == XenbusStateClosed && backend_online(dev)) {
        start_waiting(dev);
        return;
    }
    dev->state = BLKFRONT_BACKEND_GONE;
    detach(dev, monotonic_ns() + 2000000000ull);
}

int blkfront_close(struct blkfront *dev, uint64_t deadline_ns)
{
    if (dev->state == BLKFRONT_WAITING) {
        char path[160];
        backend_node_path(dev, path, sizeof(path));
        xenbus_unwatch(path, dev->watch_token);
        dev->state = BLKFRONT_BACKEND_GONE;
        detach(dev, deadline_ns);
        return 0;
    }
    if (dev->state != BLKFRONT_CONNECTED)
        return dev->state == BLKFRONT_BACKEND_GONE ? 0 : -XEN_ENOTCONN;
    while (dev->inflight && blkfront_wait(dev, deadline_ns) >= 0)
        ;
    if (dev->state != BLKFRONT_CONNECTED)
        return 0; /* the backend went away meanwhile: detach already ran */
    dev->state = BLKFRONT_CLOSED;
    int rc = switch_state(dev, XenbusStateClosing);
    if (!rc) {
        rc = wait_backend(dev, XenbusStateClosing, deadline_ns);
        if (rc == -XEN_ENODEV) /* Closing or Closed: either way it let go */
            rc = 0;
    }
    detach(dev, deadline_ns);
    return rc;
}

/* Linux's blkfront_resume + blkif_recover: the frontend directory is the toolstack's fresh one
 * (state Initialising, the new backend's path), so everything is read again; nothing of the
 * old backend is trusted or reused. */
int blkfront_reconnect(struct blkfront *dev, uint64_t deadline_ns)
{
    if (dev->state != BLKFRONT_CONNECTED)
        return 0;
    char path[160];
    watch_path(dev, path, sizeof(path));
    xenbus_unwatch(path, dev->watch_token);
    blkfront_ring_forget(dev, true);
    dev->backend_changed = false;
    int rc = read_otherend(dev);
    if (!rc) {
        watch_path(dev, path, sizeof(path));
        rc = xenbus_watch(path, dev->watch_token, backend_watch_cb, dev);
    }
    if (!rc)
        rc = wait_backend(dev, XenbusStateInitWait, deadline_ns);
    if (!rc)
        rc = talk_to_backend(dev);
    if (!rc)
        rc = wait_backend(dev, XenbusStateConnected, deadline_ns);
    if (!rc)
        rc = read_disk(dev);
    if (!rc)
        rc = switch_state(dev, XenbusStateConnected);
    if (rc) {
        dev->state = BLKFRONT_BACKEND_GONE;
        detach(dev, monotonic_ns() + 1000000000ull);
        return rc;
    }
    blkfront_ring_replay(dev);
    return 0;
}
