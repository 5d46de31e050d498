/* blkback's control plane: the "vbd" device type of the xenbus backend core. probe advertises
 * what the frontend may negotiate; connect reads what Linux's blkfront wrote (ring-page-order,
 * ring-ref / ring-refN, multi-queue-num-queues with queue-N/..., event-channel, protocol,
 * feature-persistent), opens the image, maps the rings and publishes the disk. Every value the
 * frontend wrote is checked against what we advertised before it is used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <kxen/io/protocols.h>

#include "blkback_priv.h"

void blkback_config_default(struct blkback_config *cfg)
{
    *cfg = (struct blkback_config){
        .max_queues = 4,
        .max_ring_page_order = BLKBACK_MAX_RING_ORDER,
        .max_indirect_segments = 256,
        .max_persistent_grants = 1056,
        .nr_workers = 4,
    };
}

static struct blkback *dev_bb(struct xenbus_device *dev)
{
    return xenbus_backend_priv(dev->be);
}

static int blk_probe(struct xenbus_device *dev)
{
    struct blkback *bb = dev_bb(dev);
    struct blkback_dev *bd = calloc(1, sizeof(*bd));
    if (!bd)
        return -ENOMEM;
    bd->bb = bb;
    bd->xdev = dev;
    dev->priv = bd;
    struct xenbus_kv kv[3];
    unsigned int n = 0;
    kv[n] = (struct xenbus_kv){.key = BLKIF_KEY_FEATURE_MAX_INDIRECT_SEGMENTS};
    snprintf(kv[n++].value, sizeof(kv[0].value), "%u", bb->cfg.max_indirect_segments);
    kv[n] = (struct xenbus_kv){.key = BLKIF_KEY_MULTI_QUEUE_MAX_QUEUES};
    snprintf(kv[n++].value, sizeof(kv[0].value), "%u", bb->cfg.max_queues);
    kv[n] = (struct xenbus_kv){.key = BLKIF_KEY_MAX_RING_PAGE_ORDER};
    snprintf(kv[n++].value, sizeof(kv[0].value), "%u", bb->cfg.max_ring_page_order);
    return xenbus_write_features(dev, kv, n);
}

/* `mode` is "r" or "w" (libxl); `params` names the image. */
static int open_storage(struct xenbus_device *dev, struct blkback_dev *bd)
{
    struct blkback *bb = bd->bb;
    char mode[8], params[1024];
    int rc = xenbus_read_key(dev, XENBUS_BACKEND, BLKIF_KEY_MODE, mode, sizeof(mode));
    if (rc < 0)
        return rc == -EOVERFLOW ? -EINVAL : rc;
    if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0)
        return -EINVAL;
    rc = xenbus_read_key(dev, XENBUS_BACKEND, BLKIF_KEY_PARAMS, params, sizeof(params));
    if (rc <= 0)
        return rc == 0 ? -EINVAL : rc;
    bool ro = mode[0] == 'r';
    if (bb->cfg.open_storage)
        return bb->cfg.open_storage(bb->cfg.open_ctx, params, ro, bb->cfg.nr_workers, &bd->st);
    return storage_open(params, ro, bb->cfg.nr_workers, &bd->st);
}

static int read_protocol(struct xenbus_device *dev)
{
    char proto[32];
    int rc = xenbus_read_key(dev, XENBUS_FRONTEND, BLKIF_KEY_PROTOCOL, proto, sizeof(proto));
    if (rc == -ENOENT)
        return 0; /* native */
    if (rc < 0)
        return -EINVAL;
    /* Only the native layout: 32-bit frontends lay requests out differently. */
    return strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) == 0 ? 0 : -EPROTONOSUPPORT;
}

/* Reads queue q's ring-ref(s) and event-channel and connects the ring. */
static int connect_queue(struct xenbus_device *dev, struct blkback_dev *bd, unsigned int q,
                         unsigned int order)
{
    char prefix[24] = "", key[64];
    if (bd->nr_rings > 1)
        snprintf(prefix, sizeof(prefix), "queue-%u/", q);
    unsigned int nr_pages = 1u << order;
    uint32_t refs[1u << BLKBACK_MAX_RING_ORDER];
    for (unsigned int i = 0; i < nr_pages; i++) {
        uint64_t v;
        if (order == 0)
            snprintf(key, sizeof(key), "%s" BLKIF_KEY_RING_REF, prefix);
        else
            snprintf(key, sizeof(key), "%s" BLKIF_KEY_RING_REF "%u", prefix, i);
        int rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &v);
        if (rc) {
            xenbus_dev_fatal(dev, rc, "reading %s", key);
            return rc;
        }
        refs[i] = (uint32_t)v;
    }
    uint64_t port;
    snprintf(key, sizeof(key), "%s" BLKIF_KEY_EVENT_CHANNEL, prefix);
    int rc = xenbus_scan_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX, &port);
    if (rc) {
        xenbus_dev_fatal(dev, rc, "reading %s", key);
        return rc;
    }
    struct blkback_ring *r = &bd->rings[q];
    r->bd = bd;
    r->idx = q;
    r->port = -1;
    r->max_pgrants = bd->persistent ? bd->bb->cfg.max_persistent_grants : 0;
    rc = blkback_ring_connect(r, dev->frontend_id, refs, nr_pages, (uint32_t)port);
    if (rc)
        xenbus_dev_fatal(dev, rc, "mapping ring %u or binding its event channel", q);
    return rc;
}

static void disconnect_rings(struct blkback_dev *bd)
{
    /* Stop every ring first: a completion on one ring must not restart another. */
    for (unsigned int i = 0; i < bd->nr_rings; i++)
        bd->rings[i].dead = true;
    for (unsigned int i = 0; i < bd->nr_rings; i++)
        if (bd->rings[i].bd)
            blkback_ring_disconnect(&bd->rings[i]);
    free(bd->rings);
    bd->rings = NULL;
    bd->nr_rings = 0;
}

static int publish_disk(struct xenbus_device *dev, struct blkback_dev *bd)
{
    struct storage *st = bd->st;
    uint64_t discard_enable;
    if (xenbus_scan_uint_default(dev, XENBUS_BACKEND, BLKIF_KEY_DISCARD_ENABLE, 1, 1,
                                 &discard_enable))
        discard_enable = 0;
    bd->lim.discard = st->can_discard && discard_enable && !st->readonly;
    char device_type[16] = "";
    xenbus_read_key(dev, XENBUS_BACKEND, BLKIF_KEY_DEVICE_TYPE, device_type, sizeof(device_type));
    unsigned int info =
        (st->readonly ? VDISK_READONLY : 0) | (strcmp(device_type, "cdrom") == 0 ? VDISK_CDROM : 0);
    struct xenbus_kv kv[10];
    unsigned int n = 0;
#define KV(k, fmt, v)                                                                              \
    do {                                                                                           \
        kv[n].key = (k);                                                                           \
        snprintf(kv[n++].value, sizeof(kv[0].value), fmt, v);                                      \
    } while (0)
    KV(BLKIF_KEY_FEATURE_FLUSH_CACHE, "%d", 1);
    KV(BLKIF_KEY_FEATURE_DISCARD, "%d", bd->lim.discard ? 1 : 0);
    if (bd->lim.discard) {
        KV(BLKIF_KEY_DISCARD_GRANULARITY, "%u", st->discard_granularity);
        KV(BLKIF_KEY_DISCARD_ALIGNMENT, "%u", 0u);
        KV(BLKIF_KEY_DISCARD_SECURE, "%d", 0);
    }
    KV(BLKIF_KEY_FEATURE_PERSISTENT, "%d", bd->persistent ? 1 : 0);
    /* Always 512-byte units, whatever the sector size (blkif.h). */
    KV(BLKIF_KEY_SECTORS, "%llu", (unsigned long long)(st->size_bytes >> KXEN_BLKIF_SECTOR_SHIFT));
    KV(BLKIF_KEY_INFO, "%u", info);
    KV(BLKIF_KEY_SECTOR_SIZE, "%u", st->sector_size);
    KV(BLKIF_KEY_PHYSICAL_SECTOR_SIZE, "%u", st->physical_sector_size);
#undef KV
    return xenbus_write_features(dev, kv, n);
}

static int blk_connect(struct xenbus_device *dev)
{
    struct blkback_dev *bd = dev->priv;
    struct blkback *bb = bd->bb;
    int rc = read_protocol(dev);
    if (rc) {
        xenbus_dev_fatal(dev, rc, "frontend protocol");
        return rc;
    }
    uint64_t persistent, nr_queues, order;
    const struct xenbus_gather_uint keys[] = {
        {BLKIF_KEY_FEATURE_PERSISTENT, 1, &persistent, true},
        /* Buggy or malicious guest: more queues or a bigger ring than advertised. */
        {BLKIF_KEY_MULTI_QUEUE_NUM_QUEUES, bb->cfg.max_queues, &nr_queues, true},
        {BLKIF_KEY_RING_PAGE_ORDER, bb->cfg.max_ring_page_order, &order, true},
    };
    persistent = 0;
    nr_queues = 1;
    order = 0;
    rc = xenbus_gather(dev, XENBUS_FRONTEND, keys, 3);
    if (rc || nr_queues == 0) {
        rc = rc ? rc : -EINVAL;
        xenbus_dev_fatal(dev, rc,
                         "frontend feature-persistent, multi-queue-num-queues or "
                         "ring-page-order");
        return rc;
    }
    if (!bd->st && (rc = open_storage(dev, bd)) != 0) {
        xenbus_dev_fatal(dev, rc, "opening the image named by params");
        return rc;
    }
    bd->lim.nr_sectors = bd->st->size_bytes >> KXEN_BLKIF_SECTOR_SHIFT;
    bd->lim.readonly = bd->st->readonly;
    bd->lim.max_indirect_segments = bb->cfg.max_indirect_segments;
    bd->persistent = persistent && bb->cfg.max_persistent_grants > 0;
    bd->rings = calloc(nr_queues, sizeof(*bd->rings));
    if (!bd->rings)
        return -ENOMEM;
    bd->nr_rings = (unsigned int)nr_queues;
    for (unsigned int q = 0; q < bd->nr_rings && !rc; q++)
        rc = connect_queue(dev, bd, q, (unsigned int)order);
    if (!rc && (rc = publish_disk(dev, bd)) != 0)
        xenbus_dev_fatal(dev, rc, "writing the disk's keys");
    if (rc)
        disconnect_rings(bd);
    return rc;
}

static void blk_disconnect(struct xenbus_device *dev)
{
    disconnect_rings(dev->priv);
}

static void blk_remove(struct xenbus_device *dev)
{
    struct blkback_dev *bd = dev->priv;
    if (!bd)
        return;
    disconnect_rings(bd);
    storage_close(bd->st);
    free(bd);
    dev->priv = NULL;
}

static const struct xenbus_backend_ops blkback_ops = {
    .type = "vbd",
    .probe = blk_probe,
    .connect = blk_connect,
    .disconnect = blk_disconnect,
    .remove = blk_remove,
};

struct blkback *blkback_new(struct xenbus_platform *p, const struct blkback_config *cfg,
                            xenbus_log_fn log, void *log_ctx)
{
    struct blkback *bb = calloc(1, sizeof(*bb));
    if (!bb)
        return NULL;
    bb->p = p;
    if (cfg)
        bb->cfg = *cfg;
    else
        blkback_config_default(&bb->cfg);
    bb->cfg.max_queues = xenbus_clamp_queues(bb->cfg.max_queues, BLKBACK_MAX_QUEUES);
    if (bb->cfg.max_ring_page_order > BLKBACK_MAX_RING_ORDER)
        bb->cfg.max_ring_page_order = BLKBACK_MAX_RING_ORDER;
    if (bb->cfg.max_indirect_segments > KXEN_BLKIF_MAX_INDIRECT_SEGMENTS)
        bb->cfg.max_indirect_segments = KXEN_BLKIF_MAX_INDIRECT_SEGMENTS;
    pthread_mutex_init(&bb->done_lock, NULL);
    bb->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    bb->xb = bb->done_fd >= 0 ? xenbus_backend_new(p, &blkback_ops, log, log_ctx) : NULL;
    if (!bb->xb) {
        blkback_free(bb);
        return NULL;
    }
    xenbus_backend_set_priv(bb->xb, bb);
    return bb;
}

int blkback_start(struct blkback *bb)
{
    return xenbus_backend_start(bb->xb);
}

int blkback_completion_fd(struct blkback *bb)
{
    return bb->done_fd;
}

struct xenbus_backend *blkback_xenbus(struct blkback *bb)
{
    return bb->xb;
}

int blkback_poll(struct blkback *bb)
{
    int n = xenbus_backend_poll_events(bb->xb);
    return n < 0 ? n : n + blkback_reap(bb);
}

void blkback_free(struct blkback *bb)
{
    if (!bb)
        return;
    xenbus_backend_free(bb->xb);
    if (bb->done_fd >= 0)
        close(bb->done_fd);
    pthread_mutex_destroy(&bb->done_lock);
    free(bb);
}
