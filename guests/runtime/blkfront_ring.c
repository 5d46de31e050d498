/* blkfront data plane: rings and event channels, grants for request buffers (persistent ones
 * kept per device, the rest transient), direct and indirect requests, responses.
 *
 * Invariant: a slot is in use exactly from a request's push until its response (or the detach
 * that fails it) is handled, and its id on the ring is its index; a response naming any other
 * id is counted as stray and ignored, since only the backend can have made it up. */
#include <stdbool.h>
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/blkfront.h"
#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/lib.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#define MS 1000000ull
/* A backend answers only after unmapping; a short grace covers one that unmaps just after. */
#define GRANT_RELEASE_NS (100 * MS)

static void queue_event(evtchn_port_t port, void *data)
{
    (void)port;
    ((struct blkfront_queue *)data)->kicked = true;
}

/* Ends a grant, retrying until deadline_ns while the backend still maps it; a grant the
 * backend never releases is leaked (counted), never reused. */
static void release_grant(struct blkfront *dev, grant_ref_t ref, uint64_t deadline_ns)
{
    for (;;) {
        int rc = gnttab_end_access(ref);
        if (rc != -XEN_EBUSY)
            return;
        if (monotonic_ns() >= deadline_ns) {
            dev->leaked_grants++;
            return;
        }
        sleep_ns(MS);
    }
}

int blkfront_ring_setup(struct blkfront *dev)
{
    unsigned pages = 1u << dev->info.ring_page_order;
    for (unsigned q = 0; q < dev->info.nr_queues; q++) {
        struct blkfront_queue *bq = &dev->queues[q];
        blkif_sring_t *sring = (blkif_sring_t *)dev->ring_pages[q];
        memset(dev->ring_pages[q], 0, pages * PAGE_SIZE);
        XEN_FRONT_RING_INIT(&bq->ring, sring, pages * PAGE_SIZE);
        for (unsigned i = 0; i < pages; i++) {
            int rc = gnttab_grant_access(dev->backend_id,
                                         ((uintptr_t)dev->ring_pages[q][i]) >> PAGE_SHIFT, false,
                                         &bq->ring_refs[i]);
            if (rc)
                return rc;
        }
        int rc = evtchn_alloc_unbound(dev->backend_id, &bq->port);
        if (!rc)
            rc = evtchn_bind(bq->port, queue_event, bq);
        if (rc)
            return rc;
    }
    dev->info.ring_size = RING_SIZE(&dev->queues[0].ring);
    return 0;
}

void blkfront_ring_teardown(struct blkfront *dev, uint64_t deadline_ns)
{
    for (unsigned q = 0; q < BLKFRONT_MAX_QUEUES; q++) {
        struct blkfront_queue *bq = &dev->queues[q];
        if (bq->port) {
            evtchn_unbind(bq->port);
            evtchn_close(bq->port);
            bq->port = 0;
        }
        for (unsigned i = 0; i < ARRAY_SIZE(bq->ring_refs); i++)
            if (bq->ring_refs[i]) {
                release_grant(dev, bq->ring_refs[i], deadline_ns);
                bq->ring_refs[i] = 0;
            }
    }
    for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++)
        if (dev->slots[s].indirect_ref) {
            release_grant(dev, dev->slots[s].indirect_ref, deadline_ns);
            dev->slots[s].indirect_ref = 0;
            dev->slots[s].seg_buf = NULL;
        }
    for (unsigned i = 0; i < dev->nr_persistent; i++)
        release_grant(dev, dev->persistent[i].ref, deadline_ns);
    dev->nr_persistent = 0;
    memset(dev->persistent_hash, 0, sizeof(dev->persistent_hash));
}

static void complete(struct blkfront *dev, unsigned s, int16_t status, uint64_t deadline_ns)
{
    struct blkfront_slot *slot = &dev->slots[s];
    for (unsigned i = 0; i < slot->nr_grants; i++)
        release_grant(dev, slot->grants[i], deadline_ns);
    slot->nr_grants = 0;
    dev->inflight--;
    if (slot->raw) {
        slot->raw = false;
        if (dev->raw_fn && slot->raw_tag != UINT64_MAX)
            dev->raw_fn(slot->raw_tag, status, dev->raw_ctx);
        return;
    }
    struct blkfront_req *req = slot->req;
    slot->req = 0;
    /* Linux's blkif_interrupt: a flush the backend refuses is not offered again. */
    if (status == BLKIF_RSP_EOPNOTSUPP && req->op == BLKIF_OP_FLUSH_DISKCACHE)
        dev->info.flush = false;
    req->status = status;
    if (req->done)
        req->done(req);
}

static int find_slot(const struct blkfront *dev)
{
    for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++)
        if (!dev->slots[s].req && !dev->slots[s].raw)
            return (int)s;
    return -XEN_EBUSY;
}

/* The persistent grants are looked up for every page of every request (256 for 1 MiB): a
 * hash on the frame, not a scan of up to BLKFRONT_MAX_PERSISTENT entries each time. */
static unsigned persistent_slot(unsigned long frame)
{
    return (unsigned)((frame * 0x9e3779b97f4a7c15ull) >> 40) % BLKFRONT_PERSISTENT_HASH;
}

/* The entry's index + 1 when frame is there, else 0 with *free the probe's end. */
static unsigned persistent_find(const struct blkfront *dev, unsigned long frame, unsigned *free)
{
    unsigned h = persistent_slot(frame);
    while (dev->persistent_hash[h]) {
        unsigned i = dev->persistent_hash[h];
        if (dev->persistent[i - 1].frame == frame)
            return i;
        h = (h + 1) % BLKFRONT_PERSISTENT_HASH;
    }
    *free = h;
    return 0;
}

/* A grant for one data frame: a kept persistent one when the backend maps those, else a new
 * transient one recorded in the slot. */
static int grant_frame(struct blkfront *dev, struct blkfront_slot *slot, unsigned long frame,
                       bool readonly, grant_ref_t *ref)
{
    if (dev->info.persistent) {
        unsigned h, i = persistent_find(dev, frame, &h);
        if (i) {
            *ref = dev->persistent[i - 1].ref;
            return 0;
        }
        if (dev->nr_persistent < BLKFRONT_MAX_PERSISTENT) {
            int rc = gnttab_grant_access(dev->backend_id, frame, false, ref);
            if (rc)
                return rc;
            dev->persistent[dev->nr_persistent++] =
                (struct blkfront_persistent){.frame = frame, .ref = *ref};
            dev->persistent_hash[h] = (uint16_t)dev->nr_persistent;
            return 0;
        }
    }
    /* With feature-persistent the backend may keep any gref mapped read-write (Linux's blkfront
     * grants every data page writable then), so a transient grant must be writable too. */
    int rc = gnttab_grant_access(dev->backend_id, frame, readonly && !dev->info.persistent, ref);
    if (!rc)
        slot->grants[slot->nr_grants++] = *ref;
    return rc;
}

static int check_request(const struct blkfront *dev, const struct blkfront_req *req)
{
    const struct blkfront_info *in = &dev->info;
    switch (req->op) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        if (!req->len || req->len % KXEN_BLKIF_SECTOR_SIZE ||
            (uintptr_t)req->buf % KXEN_BLKIF_SECTOR_SIZE)
            return -XEN_EINVAL;
        if (req->op == BLKIF_OP_WRITE && in->readonly)
            return -XEN_EROFS;
        break;
    case BLKIF_OP_FLUSH_DISKCACHE:
        return in->flush ? 0 : -XEN_EOPNOTSUPP;
    case BLKIF_OP_WRITE_BARRIER:
        return in->barrier ? 0 : -XEN_EOPNOTSUPP;
    case BLKIF_OP_DISCARD:
        if (!in->discard)
            return -XEN_EOPNOTSUPP;
        if (!req->len || req->len % KXEN_BLKIF_SECTOR_SIZE)
            return -XEN_EINVAL;
        break;
    default:
        return -XEN_EINVAL;
    }
    uint64_t n = req->len >> KXEN_BLKIF_SECTOR_SHIFT;
    if (req->sector > in->sectors || n > in->sectors - req->sector)
        return -XEN_EINVAL;
    return 0;
}

static unsigned segments_of(const struct blkfront_req *req)
{
    uintptr_t off = (uintptr_t)req->buf % PAGE_SIZE;
    return (unsigned)((off + req->len + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* Grants the buffer and fills segs[0..n): each covers the sectors of one page. */
static int fill_segments(struct blkfront *dev, struct blkfront_slot *slot,
                         const struct blkfront_req *req, struct blkif_request_segment *segs)
{
    uintptr_t p = (uintptr_t)req->buf, end = p + req->len;
    for (unsigned i = 0; p < end; i++) {
        uintptr_t page = p & ~(PAGE_SIZE - 1),
                  stop = page + PAGE_SIZE < end ? page + PAGE_SIZE : end;
        int rc =
            grant_frame(dev, slot, page >> PAGE_SHIFT, req->op == BLKIF_OP_WRITE, &segs[i].gref);
        if (rc)
            return rc;
        segs[i].first_sect = (uint8_t)((p - page) >> KXEN_BLKIF_SECTOR_SHIFT);
        segs[i].last_sect = (uint8_t)(((stop - page) >> KXEN_BLKIF_SECTOR_SHIFT) - 1);
        p = stop;
    }
    return 0;
}

static void push(struct blkfront *dev, unsigned q)
{
    struct blkfront_queue *bq = &dev->queues[q];
    int notify;
    bq->ring.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bq->ring, notify);
    if (notify)
        evtchn_send(bq->port);
}

/* The ring entry of an indirect request: n segments in the page granted as ref. */
static void indirect_header(const struct blkfront *dev, const struct blkfront_req *req, unsigned n,
                            unsigned s, grant_ref_t ref, void *entry)
{
    struct blkif_request_indirect *ind = entry;
    *ind = (struct blkif_request_indirect){.operation = BLKIF_OP_INDIRECT,
                                           .indirect_op = req->op,
                                           .nr_segments = (uint16_t)n,
                                           .id = s,
                                           .sector_number = req->sector,
                                           .handle = (blkif_vdev_t)dev->devid};
    ind->indirect_grefs[0] = ref;
}

/* Builds the ring entry of req in slot s. */
static int build(struct blkfront *dev, unsigned s, struct blkfront_req *req, void *entry)
{
    struct blkfront_slot *slot = &dev->slots[s];
    memset(entry, 0, sizeof(union blkif_sring_entry));
    if (req->op == BLKIF_OP_DISCARD) {
        struct blkif_request_discard *d = entry;
        *d = (struct blkif_request_discard){.operation = BLKIF_OP_DISCARD,
                                            .handle = (blkif_vdev_t)dev->devid,
                                            .id = s,
                                            .sector_number = req->sector,
                                            .nr_sectors = req->len >> KXEN_BLKIF_SECTOR_SHIFT};
        return 0;
    }
    struct blkif_request *r = entry;
    r->operation = req->op;
    r->handle = (blkif_vdev_t)dev->devid;
    r->id = s;
    r->sector_number = req->sector;
    if (req->op != BLKIF_OP_READ && req->op != BLKIF_OP_WRITE)
        return 0; /* flush or barrier without data */
    unsigned n = segments_of(req);
    if (n <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        r->nr_segments = (uint8_t)n;
        return fill_segments(dev, slot, req, r->seg);
    }
    if (n > dev->info.max_indirect_segments)
        return -XEN_E2BIG;
    /* Persistent grants stay for the connection, so the segments of a buffer this slot sent
     * before are still right: 256 lookups a 1 MiB request saved (where the guest's own
     * instructions are the cost, as under an emulating KVM, they bound the throughput). */
    if (slot->seg_buf == req->buf && slot->seg_len == req->len && slot->indirect_ref) {
        indirect_header(dev, req, n, s, slot->indirect_ref, entry);
        return 0;
    }
    slot->seg_buf = NULL;
    if (!slot->indirect_ref) {
        /* The segment page is only read by the backend and is reused by this slot only. */
        int rc = gnttab_grant_access(dev->backend_id, (uintptr_t)dev->indirect[s] >> PAGE_SHIFT,
                                     true, &slot->indirect_ref);
        if (rc)
            return rc;
    }
    int rc = fill_segments(dev, slot, req, dev->indirect[s]);
    if (!rc && dev->info.persistent && !slot->nr_grants) {
        slot->seg_buf = req->buf;
        slot->seg_len = req->len;
    }
    indirect_header(dev, req, n, s, slot->indirect_ref, entry);
    return rc;
}

int blkfront_submit(struct blkfront *dev, struct blkfront_req *req)
{
    if (dev->state == BLKFRONT_WAITING)
        return -XEN_EBUSY;
    if (dev->state != BLKFRONT_CONNECTED)
        return -XEN_ENOTCONN;
    int rc = check_request(dev, req);
    if (rc)
        return rc;
    if ((req->op == BLKIF_OP_READ || req->op == BLKIF_OP_WRITE) &&
        segments_of(req) > BLKIF_MAX_SEGMENTS_PER_REQUEST &&
        segments_of(req) > dev->info.max_indirect_segments)
        return -XEN_E2BIG;
    unsigned q = req->queue % dev->info.nr_queues;
    struct blkfront_queue *bq = &dev->queues[q];
    if (RING_FULL(&bq->ring))
        return -XEN_EBUSY;
    int s = find_slot(dev);
    if (s < 0)
        return s;
    struct blkfront_slot *slot = &dev->slots[s];
    slot->nr_grants = 0;
    rc = build(dev, (unsigned)s, req, RING_GET_REQUEST(&bq->ring, bq->ring.req_prod_pvt));
    if (rc) {
        /* Out of grants: give back what this request took; the caller retries later. */
        for (unsigned i = 0; i < slot->nr_grants; i++)
            gnttab_end_access(slot->grants[i]);
        slot->nr_grants = 0;
        return rc == -XEN_ENOSPC ? -XEN_EBUSY : rc;
    }
    slot->req = req;
    slot->op = req->op;
    dev->inflight++;
    push(dev, q);
    return 0;
}

int blkfront_submit_raw(struct blkfront *dev, unsigned q, const struct blkif_request *raw,
                        uint64_t tag)
{
    if (dev->state != BLKFRONT_CONNECTED)
        return -XEN_ENOTCONN;
    struct blkfront_queue *bq = &dev->queues[q % dev->info.nr_queues];
    if (RING_FULL(&bq->ring))
        return -XEN_EBUSY;
    int s = find_slot(dev);
    if (s < 0)
        return s;
    struct blkif_request *r = RING_GET_REQUEST(&bq->ring, bq->ring.req_prod_pvt);
    memcpy(r, raw, sizeof(*r));
    r->id = (uint64_t)s;
    dev->slots[s].raw = true;
    dev->slots[s].raw_tag = tag;
    dev->slots[s].nr_grants = 0;
    dev->inflight++;
    push(dev, q % dev->info.nr_queues);
    return 0;
}

void blkfront_set_raw_handler(struct blkfront *dev, blkfront_raw_fn fn, void *ctx)
{
    dev->raw_fn = fn;
    dev->raw_ctx = ctx;
}

/* Takes the responses of one queue; false when the backend broke the ring. */
static bool take_responses(struct blkfront *dev, struct blkfront_queue *bq, int *done)
{
    int more;
    do {
        RING_IDX rp = KXEN_RING_LOAD(bq->ring.sring->rsp_prod);
        xen_rmb();
        /* Buggy or malicious backend: more responses than requests were made. */
        if (RING_RESPONSE_PROD_OVERFLOW(&bq->ring, rp))
            return false;
        for (RING_IDX i = bq->ring.rsp_cons; i != rp; i++) {
            struct blkif_response rsp;
            RING_COPY_RESPONSE(&bq->ring, i, &rsp);
            /* Buggy or malicious backend: an id we never used or already completed. */
            if (rsp.id >= BLKFRONT_MAX_SLOTS ||
                (!dev->slots[rsp.id].req && !dev->slots[rsp.id].raw)) {
                dev->stray_responses++;
                continue;
            }
            complete(dev, (unsigned)rsp.id, rsp.status, monotonic_ns() + GRANT_RELEASE_NS);
            (*done)++;
        }
        bq->ring.rsp_cons = rp;
        RING_FINAL_CHECK_FOR_RESPONSES(&bq->ring, more);
    } while (more);
    return true;
}

void blkfront_fail_inflight(struct blkfront *dev)
{
    int done = 0;
    /* Answers already on a sane ring still count; the rest fail. The backend is going away:
     * grants it still maps after one grace period stay leaked rather than handed back. */
    for (unsigned q = 0; !dev->ring_broken && q < dev->info.nr_queues; q++)
        if (!take_responses(dev, &dev->queues[q], &done))
            dev->ring_broken = true;
    uint64_t deadline = monotonic_ns() + GRANT_RELEASE_NS;
    for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++)
        if (dev->slots[s].req || dev->slots[s].raw)
            complete(dev, s, BLKIF_RSP_ERROR, deadline);
}

static void forget_grant(struct blkfront *dev, grant_ref_t *ref, bool stale)
{
    if (*ref && stale)
        gnttab_forget(*ref);
    else if (*ref)
        release_grant(dev, *ref, monotonic_ns() + GRANT_RELEASE_NS);
    *ref = 0;
}

/* Before a new backend connects (after a resume in a new domain, or after the old backend
 * died): answers the old backend left on a sane ring count (after a resume the ring page came
 * with the image); then its ports are closed and its grants ended. A slot keeps
 * its request (and its place in inflight) for the replay; a raw request fails, since only its
 * sender knows what it meant. */
void blkfront_ring_forget(struct blkfront *dev, bool stale)
{
    int done = 0;
    for (unsigned q = 0; !dev->ring_broken && q < dev->info.nr_queues; q++)
        if (!take_responses(dev, &dev->queues[q], &done))
            dev->ring_broken = true;
    dev->ring_broken = false;
    for (unsigned q = 0; q < BLKFRONT_MAX_QUEUES; q++) {
        struct blkfront_queue *bq = &dev->queues[q];
        if (bq->port) {
            evtchn_unbind(bq->port);
            evtchn_close(bq->port);
            bq->port = 0;
        }
        bq->kicked = false;
        for (unsigned i = 0; i < ARRAY_SIZE(bq->ring_refs); i++)
            forget_grant(dev, &bq->ring_refs[i], stale);
    }
    for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++) {
        struct blkfront_slot *slot = &dev->slots[s];
        forget_grant(dev, &slot->indirect_ref, stale);
        slot->seg_buf = NULL;
        for (unsigned i = 0; i < slot->nr_grants; i++)
            forget_grant(dev, &slot->grants[i], stale);
        slot->nr_grants = 0;
        if (slot->raw)
            complete(dev, s, BLKIF_RSP_ERROR, 0);
    }
    for (unsigned i = 0; i < dev->nr_persistent; i++)
        forget_grant(dev, &dev->persistent[i].ref, stale);
    dev->nr_persistent = 0;
    /* The index points into persistent[]: left as it was, the next request would find its
     * frames "kept" under refs that no longer exist on the new backend. */
    memset(dev->persistent_hash, 0, sizeof(dev->persistent_hash));
}

/* Issues every request that kept its slot again on the new rings, with new grants. */
void blkfront_ring_replay(struct blkfront *dev)
{
    for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++) {
        struct blkfront_req *req = dev->slots[s].req;
        if (!req)
            continue;
        unsigned q = req->queue % dev->info.nr_queues;
        struct blkfront_queue *bq = &dev->queues[q];
        int rc = -XEN_EBUSY;
        /* The new backend may offer fewer queues, or a segment count the request exceeds. */
        if (!RING_FULL(&bq->ring) && !check_request(dev, req))
            rc = build(dev, s, req, RING_GET_REQUEST(&bq->ring, bq->ring.req_prod_pvt));
        if (rc) {
            complete(dev, s, BLKIF_RSP_ERROR, monotonic_ns() + GRANT_RELEASE_NS);
            continue;
        }
        dev->replayed++;
        push(dev, q);
    }
}

int blkfront_poll(struct blkfront *dev)
{
    int done = 0;
    xenbus_dispatch_watches();
    for (unsigned q = 0; dev->state == BLKFRONT_CONNECTED && q < dev->info.nr_queues; q++) {
        dev->queues[q].kicked = false;
        if (!take_responses(dev, &dev->queues[q], &done))
            dev->ring_broken = true; /* detached below, as a backend going away */
    }
    blkfront_follow_backend(dev);
    return done;
}

static bool has_work(void *ctx)
{
    struct blkfront *dev = ctx;
    xenbus_dispatch_watches();
    if (dev->state == BLKFRONT_WAITING)
        return dev->backend_changed;
    if (dev->backend_changed || dev->state != BLKFRONT_CONNECTED)
        return true;
    for (unsigned q = 0; q < dev->info.nr_queues; q++)
        if (dev->queues[q].kicked || RING_HAS_UNCONSUMED_RESPONSES(&dev->queues[q].ring))
            return true;
    return false;
}

int blkfront_wait(struct blkfront *dev, uint64_t deadline_ns)
{
    int rc = wait_until(has_work, dev, deadline_ns);
    if (rc)
        return rc;
    return blkfront_poll(dev);
}

unsigned blkfront_inflight(const struct blkfront *dev)
{
    return dev->inflight;
}

static void sync_done(struct blkfront_req *req)
{
    *(volatile bool *)req->ctx = true;
}

int blkfront_io_sync(struct blkfront *dev, uint8_t op, uint64_t sector, void *buf, size_t len,
                     uint64_t deadline_ns)
{
    volatile bool finished = false;
    struct blkfront_req req = {.op = op,
                               .sector = sector,
                               .buf = buf,
                               .len = len,
                               .done = sync_done,
                               .ctx = (void *)&finished};
    int rc;
    while ((rc = blkfront_submit(dev, &req)) == -XEN_EBUSY)
        if ((rc = blkfront_wait(dev, deadline_ns)) < 0)
            return rc;
    if (rc)
        return rc;
    while (!finished)
        if ((rc = blkfront_wait(dev, deadline_ns)) < 0) {
            /* req lives on this stack: its slot completes later as a raw one nobody hears */
            for (unsigned s = 0; s < BLKFRONT_MAX_SLOTS; s++)
                if (dev->slots[s].req == &req) {
                    dev->slots[s].req = 0;
                    dev->slots[s].raw = true;
                    dev->slots[s].raw_tag = UINT64_MAX;
                }
            return rc;
        }
    if (req.status == BLKIF_RSP_OKAY)
        return 0;
    return req.status == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP : -XEN_EIO;
}
