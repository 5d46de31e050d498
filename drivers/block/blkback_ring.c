/* blkback's data plane: one ring per queue. Each request is copied once off the shared ring
 * (ring_safe), validated on the copy (blkback_req.c), its grants mapped, and handed to the
 * storage engine; completions come back on the event loop (blkback_reap) where the grants are
 * unmapped and the response is pushed. Reads and writes of an image in memory (tmpfs) on a
 * one-CPU host are done on the event loop itself and answered before the ring is read again.
 *
 * Invariants: a ring never has more requests in flight than its size (so every consumed
 * request can be answered); a ring marked dead consumes nothing more; its pages, port and
 * persistent grants are released only once nothing is in flight. A producer overrun closes
 * only the device it happened on. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkback_priv.h"

static struct xenbus_platform *ring_platform(struct blkback_ring *r)
{
    return r->bd->bb->p;
}

static uint32_t ring_domid(struct blkback_ring *r)
{
    return r->bd->xdev->frontend_id;
}

/* Puts a response on the ring without publishing it (push_responses does). */
static void put_response(struct blkback_ring *r, uint64_t id, uint8_t op, int16_t status)
{
    struct blkif_response rsp = {.id = id, .operation = op, .status = status};
    RING_BACK_PUT_RESPONSE(&r->back, &rsp);
}

/* Publishes the responses put so far; one event for all of them, and only when the frontend
 * asked for one (rsp_event), as Linux's blkback does per batch. */
static void push_responses(struct blkback_ring *r)
{
    int notify;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->back, notify);
    if (notify && r->port >= 0)
        ring_platform(r)->ops->evtchn_notify(ring_platform(r), (uint32_t)r->port);
}

static void respond(struct blkback_ring *r, uint64_t id, uint8_t op, int16_t status)
{
    put_response(r, id, op, status);
    push_responses(r);
}

/* ---- Grants ---------------------------------------------------------------------------------- */

static unsigned int pgrant_hash(const struct blkback_ring *r, grant_ref_t gref)
{
    return (unsigned int)(((uint64_t)gref * 0x9e3779b97f4a7c15ull) >> 32) & (r->pg_index_size - 1);
}

/* The slot of gref in pg_index: its entry, or the free slot where it would go. */
static unsigned int pgrant_slot(const struct blkback_ring *r, grant_ref_t gref)
{
    unsigned int h = pgrant_hash(r, gref);
    while (r->pg_index[h] && r->pgrants[r->pg_index[h] - 1].gref != gref)
        h = (h + 1) & (r->pg_index_size - 1);
    return h;
}

static struct blkback_pgrant *pgrant_entry(struct blkback_ring *r, grant_ref_t gref)
{
    if (!r->nr_pgrants)
        return NULL;
    unsigned int i = r->pg_index[pgrant_slot(r, gref)];
    return i ? &r->pgrants[i - 1] : NULL;
}

static void *pgrant_find(struct blkback_ring *r, grant_ref_t gref)
{
    struct blkback_pgrant *g = pgrant_entry(r, gref);
    return g ? g->addr : NULL;
}

static void pgrant_add(struct blkback_ring *r, grant_ref_t gref, void *addr, bool batched,
                       bool readonly)
{
    r->pgrants[r->nr_pgrants++] = (struct blkback_pgrant){gref, addr, batched, readonly};
    r->pg_index[pgrant_slot(r, gref)] = r->nr_pgrants;
}

/* A kept page the backend must now write (the frontend reuses its indirect segment pages as
 * data pages, as Linux's blkfront does): mapped again writable, the read-only map dropped. */
static int pgrant_make_writable(struct blkback_ring *r, struct blkback_pgrant *g)
{
    struct xenbus_platform *p = ring_platform(r);
    void *a;
    int rc = p->ops->gnttab_map(p, ring_domid(r), 1, &g->gref, false, &a);
    if (rc)
        return rc;
    if (!g->batched)
        p->ops->gnttab_unmap(p, g->addr, 1);
    *g = (struct blkback_pgrant){g->gref, a, false, false};
    return 0;
}

/* The grefs of io not yet kept, mapped with one call and kept as one batch (unmapped whole
 * when the ring goes): a request's first use of its buffers costs one map, not one per page.
 * Nothing happens when the map fails (a bad gref among them, no room for a run of pages in a
 * driver domain's window): the caller maps them one by one and meets the error there. */
static void map_fresh_batch(struct blkback_ring *r, struct blkback_io *io)
{
    struct xenbus_platform *p = ring_platform(r);
    uint32_t *fresh = malloc(io->nr_segs * sizeof(*fresh));
    unsigned int n = 0;
    for (unsigned int i = 0; fresh && i < io->nr_segs; i++)
        if (!pgrant_find(r, io->segs[i].gref) && r->nr_pgrants + n < r->max_pgrants)
            fresh[n++] = io->segs[i].gref;
    void *a;
    if (n > 1 && r->nr_pg_batches < r->max_pgrants &&
        p->ops->gnttab_map(p, ring_domid(r), n, fresh, false, &a) == 0) {
        r->pg_batches[r->nr_pg_batches++] = (struct blkback_pg_batch){a, n};
        for (unsigned int k = 0; k < n; k++) /* a gref named twice keeps its first page */
            if (!pgrant_find(r, fresh[k]))
                pgrant_add(r, fresh[k], (char *)a + (size_t)k * BLKBACK_PAGE, true, false);
    }
    free(fresh);
}

/* Persistent: each gref mapped once (read-write, as blkfront grants them) and kept until the
 * ring goes, up to max_pgrants per ring; beyond that, a transient map per segment. */
static int map_persistent(struct blkback_ring *r, struct blkback_io *io, bool readonly, void **page)
{
    struct xenbus_platform *p = ring_platform(r);
    map_fresh_batch(r, io);
    for (unsigned int i = 0; i < io->nr_segs; i++) {
        grant_ref_t g = io->segs[i].gref;
        struct blkback_pgrant *kept = pgrant_entry(r, g);
        if (kept && kept->readonly && !readonly) {
            int rc = pgrant_make_writable(r, kept);
            if (rc)
                return rc;
        }
        void *a = kept ? kept->addr : NULL;
        if (!a && r->nr_pgrants < r->max_pgrants) {
            int rc = p->ops->gnttab_map(p, ring_domid(r), 1, &g, false, &a);
            if (rc)
                return rc;
            pgrant_add(r, g, a, false, false);
        } else if (!a) {
            int rc = p->ops->gnttab_map(p, ring_domid(r), 1, &g, readonly, &a);
            if (rc)
                return rc;
            io->transient[i] = a;
        }
        page[i] = a;
    }
    return 0;
}

static void unmap_io(struct blkback_ring *r, struct blkback_io *io)
{
    struct xenbus_platform *p = ring_platform(r);
    if (io->map)
        p->ops->gnttab_unmap(p, io->map, io->nr_map);
    io->map = NULL;
    for (unsigned int i = 0; io->transient && i < io->nr_segs; i++) {
        if (io->transient[i])
            p->ops->gnttab_unmap(p, io->transient[i], 1);
        io->transient[i] = NULL;
    }
}

static int map_segments(struct blkback_ring *r, struct blkback_io *io, bool readonly)
{
    void **page = calloc(io->nr_segs, sizeof(*page));
    if (!page)
        return -ENOMEM;
    int rc = 0;
    if (r->bd->persistent) {
        rc = map_persistent(r, io, readonly, page);
    } else {
        uint32_t *refs = malloc(io->nr_segs * sizeof(*refs));
        rc = refs ? 0 : -ENOMEM;
        for (unsigned int i = 0; !rc && i < io->nr_segs; i++)
            refs[i] = io->segs[i].gref;
        if (!rc)
            rc = ring_platform(r)->ops->gnttab_map(ring_platform(r), ring_domid(r), io->nr_segs,
                                                   refs, readonly, &io->map);
        if (!rc) {
            io->nr_map = io->nr_segs;
            for (unsigned int i = 0; i < io->nr_segs; i++)
                page[i] = (char *)io->map + (size_t)i * BLKBACK_PAGE;
        }
        free(refs);
    }
    for (unsigned int i = 0; !rc && i < io->nr_segs; i++) {
        const struct blkif_request_segment *s = &io->segs[i];
        io->iov[i].iov_base = (char *)page[i] + s->first_sect * KXEN_BLKIF_SECTOR_SIZE;
        io->iov[i].iov_len = (size_t)(s->last_sect - s->first_sect + 1) * KXEN_BLKIF_SECTOR_SIZE;
    }
    free(page);
    if (rc)
        unmap_io(r, io);
    return rc;
}

/* With persistent grants the frontend reuses its indirect pages (Linux's blkfront keeps them
 * granted with its data pages), so they are kept like data pages, read-only: after the first
 * request a page costs no map and no unmap. Returns -ENOENT when a page cannot be kept (the
 * bound reached, a map refused); the caller then maps them for this request only. */
static int read_indirect_kept(struct blkback_ring *r, struct blkback_io *io)
{
    struct xenbus_platform *p = ring_platform(r);
    size_t left = io->nr_segs * sizeof(io->segs[0]);
    char *to = (char *)io->segs;
    for (unsigned int i = 0; i < io->req.nr_indirect_pages && left; i++) {
        grant_ref_t g = io->req.indirect_grefs[i];
        void *a = pgrant_find(r, g);
        if (!a) {
            if (r->nr_pgrants >= r->max_pgrants ||
                p->ops->gnttab_map(p, ring_domid(r), 1, &g, true, &a))
                return -ENOENT;
            pgrant_add(r, g, a, false, true);
        }
        size_t n = left < BLKBACK_PAGE ? left : BLKBACK_PAGE;
        memcpy(to, a, n);
        to += n;
        left -= n;
    }
    return 0;
}

/* The indirect pages are mapped read-only, their segments copied once, and unmapped. */
static int read_indirect(struct blkback_ring *r, struct blkback_io *io)
{
    struct xenbus_platform *p = ring_platform(r);
    if (r->bd->persistent && read_indirect_kept(r, io) == 0)
        return 0;
    void *pages;
    int rc = p->ops->gnttab_map(p, ring_domid(r), io->req.nr_indirect_pages, io->req.indirect_grefs,
                                true, &pages);
    if (rc)
        return rc;
    memcpy(io->segs, pages, io->nr_segs * sizeof(io->segs[0]));
    p->ops->gnttab_unmap(p, pages, io->req.nr_indirect_pages);
    return 0;
}

/* ---- Requests -------------------------------------------------------------------------------- */

static void io_done(struct storage_io *sio)
{
    struct blkback_io *io = sio->ctx;
    struct blkback *bb = io->ring->bd->bb;
    uint64_t one = 1;
    pthread_mutex_lock(&bb->done_lock);
    io->next = NULL;
    if (bb->done_tail)
        bb->done_tail->next = io;
    else
        bb->done_head = io;
    bb->done_tail = io;
    pthread_mutex_unlock(&bb->done_lock);
    (void)!write(bb->done_fd, &one, sizeof(one));
}

static struct blkback_io *io_alloc(unsigned int nr_segs)
{
    size_t sz =
        sizeof(struct blkback_io) +
        nr_segs * (sizeof(void *) + sizeof(struct blkif_request_segment) + sizeof(struct iovec));
    struct blkback_io *io = calloc(1, sz);
    if (!io)
        return NULL;
    io->nr_segs = nr_segs;
    io->iov = (struct iovec *)(io + 1);
    io->transient = (void **)(io->iov + nr_segs);
    io->segs = (struct blkif_request_segment *)(io->transient + nr_segs);
    return io;
}

/* Reads and writes of an image held in memory are done by the thread that took them off the
 * ring where the storage chose it (one CPU: the copy is shorter than two thread hand-offs, to
 * the engine and back through done_fd, each a context switch) or the configuration asks. A
 * flush and a discard still go to the engine: they may wait (fdatasync). */
static bool run_inline(const struct blkback_ring *r, const struct storage_io *sio)
{
    const struct storage *st = r->bd->st;
    bool chosen = st->run_inline || (st->in_memory && r->bd->bb->cfg.inline_in_memory);
    return chosen && (sio->op == STORAGE_READ || sio->op == STORAGE_WRITE) && !sio->flush_after;
}

/* Builds and submits one validated request; returns a BLKIF_RSP_* status on failure. */
static int start_io(struct blkback_ring *r, const struct blkback_req *req)
{
    struct blkback_dev *bd = r->bd;
    unsigned int n = req->op == BLKIF_OP_DISCARD ? 0 : req->nr_segs;
    struct blkback_io *io = io_alloc(n);
    if (!io)
        return BLKIF_RSP_ERROR;
    io->ring = r;
    io->req = *req;
    io->sio.ctx = io;
    io->sio.done = io_done;
    io->sio.offset = req->sector * KXEN_BLKIF_SECTOR_SIZE;
    if (req->op == BLKIF_OP_DISCARD) {
        io->sio.op = STORAGE_DISCARD;
        io->sio.len = req->nr_discard_sectors * KXEN_BLKIF_SECTOR_SIZE;
    } else if (n == 0) { /* a flush without data */
        io->sio.op = STORAGE_FLUSH;
    } else {
        uint64_t total;
        bool to_disk = req->op != BLKIF_OP_READ; /* WRITE, or a flush carrying data */
        int rc = 0;
        if (req->indirect)
            rc = read_indirect(r, io);
        else
            memcpy(io->segs, req->seg, n * sizeof(io->segs[0]));
        /* Indirect segments are checked here, on our copy, like direct ones in parse. */
        if (rc || blkback_check_segments(io->segs, n, req, &bd->lim, &total) != BLKIF_RSP_OKAY ||
            map_segments(r, io, to_disk)) {
            free(io);
            return BLKIF_RSP_ERROR;
        }
        io->sio.op = to_disk ? STORAGE_WRITE : STORAGE_READ;
        io->sio.flush_after = req->op == BLKIF_OP_FLUSH_DISKCACHE;
        io->sio.iov = io->iov;
        io->sio.iovcnt = (int)n;
    }
    if (run_inline(r, &io->sio)) {
        /* The response waits on the ring: ring_process publishes the run with one event. */
        io->sio.result = storage_run(bd->st, &io->sio);
        unmap_io(r, io);
        put_response(r, req->id, req->op, io->sio.result == 0 ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
        free(io);
        return BLKIF_RSP_OKAY;
    }
    if (storage_submit(bd->st, &io->sio)) {
        unmap_io(r, io);
        free(io);
        return BLKIF_RSP_ERROR;
    }
    r->inflight++;
    return BLKIF_RSP_OKAY;
}

static void handle_request(struct blkback_ring *r, const struct blkif_request *raw)
{
    struct blkback_req req;
    int st = blkback_parse_request(raw, &r->bd->lim, &req);
    if (st == BLKIF_RSP_OKAY)
        st = start_io(r, &req);
    if (st != BLKIF_RSP_OKAY)
        respond(r, req.id, req.op, (int16_t)st);
}

static void ring_process(struct blkback_ring *r)
{
    int more = 1;
    while (more && !r->dead) {
        while (r->inflight < RING_SIZE(&r->back)) {
            struct blkif_request raw;
            int rc = RING_BACK_NEXT_REQUEST(&r->back, &raw, &r->guard);
            if (rc == 0)
                break;
            if (rc < 0) {
                char why[160];
                r->dead = true;
                /* Buggy or malicious guest: the producer index overran the ring. Only this
                 * device closes; dev (and r) may be gone after this call. */
                xenbus_dev_fatal(r->bd->xdev, rc, "ring %u: %s", r->idx,
                                 kxen_ring_guard_describe(&r->guard, why, sizeof(why)));
                return;
            }
            handle_request(r, &raw);
        }
        push_responses(r); /* those answered on this thread */
        if (r->inflight >= RING_SIZE(&r->back))
            return; /* a completion calls us again */
        RING_FINAL_CHECK_FOR_REQUESTS(&r->back, more);
    }
}

static void ring_event(void *ctx, uint32_t port)
{
    (void)port;
    ring_process(ctx);
}

/* Responses are pushed per run of completions of one ring: a ring's responses are published
 * (one event) before the next completion of another ring is taken, and before ring_process
 * runs, which may close the device and reap from inside (so no completion is held here
 * across it). */
int blkback_reap(struct blkback *bb)
{
    uint64_t cnt;
    int n = 0;
    struct blkback_ring *unpushed = NULL;
    (void)!read(bb->done_fd, &cnt, sizeof(cnt));
    for (;;) {
        pthread_mutex_lock(&bb->done_lock);
        struct blkback_io *io = bb->done_head;
        bool other = io && unpushed && io->ring != unpushed;
        if (io && !other) {
            bb->done_head = io->next;
            if (!bb->done_head)
                bb->done_tail = NULL;
        }
        pthread_mutex_unlock(&bb->done_lock);
        if (!io || other) {
            if (unpushed) {
                push_responses(unpushed);
                /* requests may wait for the slots these freed; the ring may be freed */
                ring_process(unpushed);
                unpushed = NULL;
            }
            if (!io)
                return n;
            continue;
        }
        struct blkback_ring *r = io->ring;
        unmap_io(r, io);
        put_response(r, io->req.id, io->req.op,
                     io->sio.result == 0 ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR);
        free(io);
        r->inflight--;
        n++;
        unpushed = r;
    }
}

/* ---- Connection ------------------------------------------------------------------------------ */

int blkback_ring_connect(struct blkback_ring *r, uint32_t domid, const uint32_t *refs,
                         unsigned int nr_pages, uint32_t remote_port)
{
    struct xenbus_platform *p = ring_platform(r);
    r->port = -1;
    if (r->max_pgrants) {
        r->pg_index_size = 2;
        while (r->pg_index_size < 2 * r->max_pgrants)
            r->pg_index_size *= 2;
        r->pgrants = calloc(r->max_pgrants, sizeof(*r->pgrants));
        r->pg_index = calloc(r->pg_index_size, sizeof(*r->pg_index));
        r->pg_batches = calloc(r->max_pgrants, sizeof(*r->pg_batches));
        if (!r->pgrants || !r->pg_index || !r->pg_batches)
            return -ENOMEM;
    }
    int rc = p->ops->gnttab_map(p, domid, nr_pages, refs, false, &r->sring);
    if (rc)
        return rc;
    r->nr_pages = nr_pages;
    BACK_RING_INIT(&r->back, (blkif_sring_t *)r->sring, (size_t)nr_pages * BLKBACK_PAGE);
    /* Resume after the last published response: 0 on a fresh ring, and on a ring adopted
     * from a backend instance that died, the requests it took but never answered are taken
     * again (read once; a hostile value only makes the guard declare the ring dead). */
    r->back.req_cons = r->back.rsp_prod_pvt =
        __atomic_load_n(&r->back.sring->rsp_prod, __ATOMIC_ACQUIRE);
    memset(&r->guard, 0, sizeof(r->guard));
    rc = xenbus_evtchn_bind(p, domid, remote_port, ring_event, r);
    if (rc < 0)
        return rc;
    r->port = rc;
    /* A notification sent while no backend was bound (an adopted ring) is lost: look once. */
    if (__atomic_load_n(&r->back.sring->req_prod, __ATOMIC_ACQUIRE) != r->back.req_cons)
        ring_process(r);
    return 0;
}

void blkback_ring_disconnect(struct blkback_ring *r)
{
    struct xenbus_platform *p = ring_platform(r);
    r->dead = true;
    while (r->inflight > 0) {
        struct pollfd pfd = {.fd = r->bd->bb->done_fd, .events = POLLIN};
        poll(&pfd, 1, 1000);
        blkback_reap(r->bd->bb);
    }
    if (r->port >= 0)
        xenbus_evtchn_unbind(p, (uint32_t)r->port);
    r->port = -1;
    for (unsigned int i = 0; i < r->nr_pgrants; i++)
        if (!r->pgrants[i].batched)
            p->ops->gnttab_unmap(p, r->pgrants[i].addr, 1);
    for (unsigned int i = 0; i < r->nr_pg_batches; i++)
        p->ops->gnttab_unmap(p, r->pg_batches[i].addr, r->pg_batches[i].count);
    free(r->pg_batches);
    r->pg_batches = NULL;
    r->nr_pg_batches = 0;
    free(r->pgrants);
    r->pgrants = NULL;
    r->nr_pgrants = 0;
    free(r->pg_index);
    r->pg_index = NULL;
    if (r->sring)
        p->ops->gnttab_unmap(p, r->sring, r->nr_pages);
    r->sring = NULL;
}
