/* Storage on the driver domain's own PV disk (device/vbd/DEVID, served by dom0): each request
 * blkback hands over goes out through the runtime's blkfront, bounced through a buffer of
 * this domain (a page mapped from a client's grant is not ours to grant on), and waited for.
 * Synchronous, so one request at a time: simple and correct, not fast.
 * Invariant: the disk is opened once and stays connected; storage opens only share it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/blkfront.h"
#include "guest/time.h"

#include "ddom.h"

#define VBD_TIMEOUT_NS 30000000000ULL
#define VBD_BOUNCE (128u * 1024u) /* the largest request blkback takes (32 segments) */

static struct blkfront vbd_dev;
static bool vbd_open;
static unsigned int vbd_devid;
static uint8_t *bounce;

struct vbd_storage {
    struct storage base;
};

static int vbd_rw(struct storage_io *io)
{
    size_t total = 0;
    for (int i = 0; i < io->iovcnt; i++)
        total += io->iov[i].iov_len;
    if (total > VBD_BOUNCE || total % 512)
        return -EINVAL;
    uint8_t op = io->op == STORAGE_READ ? BLKIF_OP_READ : BLKIF_OP_WRITE;
    if (op == BLKIF_OP_WRITE) {
        size_t at = 0;
        for (int i = 0; i < io->iovcnt; i++, at += io->iov[i - 1].iov_len)
            memcpy(bounce + at, io->iov[i].iov_base, io->iov[i].iov_len);
    }
    /* In pieces our own blkfront takes in one request (direct: 11 pages). */
    const struct blkfront_info *info = blkfront_get_info(&vbd_dev);
    size_t chunk = (info->max_indirect_segments ? info->max_indirect_segments
                                                : BLKIF_MAX_SEGMENTS_PER_REQUEST) *
                   4096u;
    int rc = 0;
    for (size_t at = 0; rc == 0 && at < total; at += chunk) {
        size_t n = total - at < chunk ? total - at : chunk;
        rc = blkfront_io_sync(&vbd_dev, op, (io->offset + at) / 512, bounce + at, n,
                              monotonic_ns() + VBD_TIMEOUT_NS);
    }
    if (rc == 0 && op == BLKIF_OP_READ) {
        size_t at = 0;
        for (int i = 0; i < io->iovcnt; i++, at += io->iov[i - 1].iov_len)
            memcpy(io->iov[i].iov_base, bounce + at, io->iov[i].iov_len);
    }
    if (rc == 0 && io->flush_after)
        rc = blkfront_io_sync(&vbd_dev, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0,
                              monotonic_ns() + VBD_TIMEOUT_NS);
    return rc;
}

static int vbd_submit(struct storage *s, struct storage_io *io)
{
    (void)s;
    const struct blkfront_info *info = blkfront_get_info(&vbd_dev);
    switch (io->op) {
    case STORAGE_READ:
    case STORAGE_WRITE:
        io->result = vbd_rw(io);
        break;
    case STORAGE_FLUSH:
        io->result = info->flush ? blkfront_io_sync(&vbd_dev, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0,
                                                    monotonic_ns() + VBD_TIMEOUT_NS)
                                 : 0;
        break;
    case STORAGE_DISCARD:
        io->result = info->discard
                         ? blkfront_io_sync(&vbd_dev, BLKIF_OP_DISCARD, io->offset / 512, NULL,
                                            io->len, monotonic_ns() + VBD_TIMEOUT_NS)
                         : 0;
        break;
    }
    ddom_count_io(io);
    io->done(io);
    return 0;
}

static void vbd_close(struct storage *s)
{
    free(s);
}

static const struct storage_ops vbd_ops = {.submit = vbd_submit, .close = vbd_close};

int ddom_storage_vbd_open(const char *spec, bool readonly, struct storage **out)
{
    unsigned int devid = 0;
    const char *p = spec;
    while (*p >= '0' && *p <= '9' && devid < 1000000)
        devid = devid * 10 + (unsigned int)(*p++ - '0');
    if (p == spec || *p)
        return -EINVAL;
    if (vbd_open && devid != vbd_devid)
        return -EBUSY; /* one own disk at a time */
    if (!vbd_open) {
        struct blkfront_config cfg;
        blkfront_config_default(&cfg);
        cfg.max_queues = 1;
        cfg.max_indirect_segments = 32;
        if (!bounce && !(bounce = malloc(VBD_BOUNCE)))
            return -ENOMEM;
        int rc = blkfront_open(&vbd_dev, devid, &cfg, monotonic_ns() + VBD_TIMEOUT_NS);
        if (rc)
            return rc < 0 ? rc : -EIO;
        vbd_open = true;
        vbd_devid = devid;
    }
    const struct blkfront_info *info = blkfront_get_info(&vbd_dev);
    if (!readonly && info->readonly)
        return -EROFS;
    struct vbd_storage *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->base = (struct storage){.ops = &vbd_ops,
                               .size_bytes = info->sectors * 512,
                               .sector_size = 512,
                               .physical_sector_size =
                                   info->physical_sector_size ? info->physical_sector_size : 512,
                               .readonly = readonly,
                               .can_discard = info->discard,
                               .discard_granularity = info->discard_granularity};
    *out = &v->base;
    return 0;
}
