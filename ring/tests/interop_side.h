/* One blkif frontend and one backend, written once and compiled twice: interop_xen.c builds
 * them on Xen's own io/ring.h + io/blkif.h, interop_kxen.c on kxen's (whose backend consumes
 * through libkxenring). The test pairs a frontend of one with a backend of the other. */
#include <stdio.h>
#include <string.h>

#include "interop.h"

#ifdef INTEROP_SIDE_XEN
/* Xen's ring.h leaves the barriers to its user. */
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include "/usr/include/xen/io/blkif.h"
#define SIDE "xen"
#define FN(x) xen_##x
#else
#include <kxen/io/blkif.h>
#include <kxen/ring_safe.h>
#define SIDE "kxen"
#define FN(x) kxen_##x
#endif

#define PAGE 4096

static int fail(int step, const char *what, uint32_t i)
{
    fprintf(stderr, "%s side, check %d failed: %s (request %u)\n", SIDE, step, what, i);
    return step;
}

static uint8_t expected_op(uint32_t i)
{
    switch (interop_kind(i)) {
    case KIND_DISCARD:
        return BLKIF_OP_DISCARD;
    case KIND_INDIRECT:
        return BLKIF_OP_INDIRECT;
    default:
        return i % 2 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
    }
}

static void fill_request(blkif_request_t *slot, uint32_t i)
{
    memset(slot, 0, sizeof(*slot));
    if (interop_kind(i) == KIND_DISCARD) {
        blkif_request_discard_t *d = (blkif_request_discard_t *)slot;
        d->operation = BLKIF_OP_DISCARD;
        d->flag = i % 2 ? BLKIF_DISCARD_SECURE : 0;
        d->handle = INTEROP_HANDLE;
        d->id = interop_id(i);
        d->sector_number = interop_sector(i);
        d->nr_sectors = i + 1;
    } else if (interop_kind(i) == KIND_INDIRECT) {
        blkif_request_indirect_t *r = (blkif_request_indirect_t *)slot;
        r->operation = BLKIF_OP_INDIRECT;
        r->indirect_op = BLKIF_OP_WRITE;
        r->nr_segments = 100 + i % 400;
        r->id = interop_id(i);
        r->sector_number = interop_sector(i);
        r->handle = INTEROP_HANDLE;
        for (unsigned k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
            r->indirect_grefs[k] = interop_gref(i, k);
    } else {
        slot->operation = expected_op(i);
        slot->nr_segments = interop_nsegs(i);
        slot->handle = INTEROP_HANDLE;
        slot->id = interop_id(i);
        slot->sector_number = interop_sector(i);
        for (unsigned s = 0; s < interop_nsegs(i); s++) {
            slot->seg[s].gref = interop_gref(i, s);
            slot->seg[s].first_sect = s % 8;
            slot->seg[s].last_sect = 7;
        }
    }
}

/* Checks the private copy of request i. */
static int check_request(const blkif_request_t *req, uint32_t i)
{
    if (req->operation != expected_op(i))
        return fail(10, "operation", i);
    if (interop_kind(i) == KIND_DISCARD) {
        blkif_request_discard_t d;
        memcpy(&d, req, sizeof(d));
        if (d.id != interop_id(i) || d.sector_number != interop_sector(i) ||
            d.nr_sectors != i + 1u || d.handle != INTEROP_HANDLE ||
            d.flag != (i % 2 ? BLKIF_DISCARD_SECURE : 0))
            return fail(11, "discard fields", i);
    } else if (interop_kind(i) == KIND_INDIRECT) {
        blkif_request_indirect_t r;
        memcpy(&r, req, sizeof(r));
        if (r.id != interop_id(i) || r.sector_number != interop_sector(i) ||
            r.indirect_op != BLKIF_OP_WRITE || r.nr_segments != 100 + i % 400 ||
            r.handle != INTEROP_HANDLE)
            return fail(12, "indirect fields", i);
        for (unsigned k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
            if (r.indirect_grefs[k] != interop_gref(i, k))
                return fail(13, "indirect gref", i);
    } else {
        if (req->id != interop_id(i) || req->sector_number != interop_sector(i) ||
            req->nr_segments != interop_nsegs(i) || req->handle != INTEROP_HANDLE)
            return fail(14, "read/write fields", i);
        for (unsigned s = 0; s < interop_nsegs(i); s++)
            if (req->seg[s].gref != interop_gref(i, s) || req->seg[s].first_sect != s % 8 ||
                req->seg[s].last_sect != 7)
                return fail(15, "segment", i);
    }
    return 0;
}

int FN(blk_front)(const struct interop_link *l, uint32_t n)
{
    blkif_sring_t *s = l->page;
    blkif_front_ring_t f;
    SHARED_RING_INIT(s);
    FRONT_RING_INIT(&f, s, PAGE);
#ifndef INTEROP_SIDE_XEN
    struct kxen_ring_guard g = {0};
#endif
    uint32_t sent = 0, done = 0;
    while (done < n) {
        while (sent < n && !RING_FULL(&f))
            fill_request(RING_GET_REQUEST(&f, f.req_prod_pvt++), sent++);
        int notify;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
        if (notify)
            interop_kick(l->to_back);
        for (;;) {
            blkif_response_t rsp;
#ifdef INTEROP_SIDE_XEN
            while (RING_HAS_UNCONSUMED_RESPONSES(&f)) {
                RING_COPY_RESPONSE(&f, f.rsp_cons, &rsp);
                f.rsp_cons++;
#else
            int r;
            while ((r = RING_FRONT_NEXT_RESPONSE(&f, &rsp, &g)) == 1) {
#endif
                if (done >= sent)
                    return fail(1, "response without request", done);
                if (rsp.id != interop_id(done) || rsp.operation != expected_op(done) ||
                    rsp.status != interop_status(done))
                    return fail(2, "response fields", done);
                done++;
            }
#ifndef INTEROP_SIDE_XEN
            if (r < 0)
                return fail(3, g.reason, done);
#endif
            if (done == n || (sent < n && !RING_FULL(&f)))
                break;
            int work;
            RING_FINAL_CHECK_FOR_RESPONSES(&f, work);
            if (!work && interop_wait(l->to_front) < 0)
                return fail(4, "waiting for responses", done);
        }
    }
    return 0;
}

int FN(blk_back)(const struct interop_link *l, uint32_t n)
{
    blkif_sring_t *s = l->page;
    blkif_back_ring_t b;
    BACK_RING_INIT(&b, s, PAGE);
#ifndef INTEROP_SIDE_XEN
    struct kxen_ring_guard g = {0};
#endif
    uint32_t done = 0;
    while (done < n) {
        blkif_request_t req;
#ifdef INTEROP_SIDE_XEN
        while (RING_HAS_UNCONSUMED_REQUESTS(&b)) {
            RING_COPY_REQUEST(&b, b.req_cons, &req);
            b.req_cons++;
#else
        int r;
        while ((r = RING_BACK_NEXT_REQUEST(&b, &req, &g)) == 1) {
#endif
            int err = check_request(&req, done);
            if (err)
                return err;
            blkif_response_t *rsp = RING_GET_RESPONSE(&b, b.rsp_prod_pvt++);
            rsp->id = req.id;
            rsp->operation = req.operation;
            rsp->status = interop_status(done);
            done++;
        }
#ifndef INTEROP_SIDE_XEN
        if (r < 0)
            return fail(20, g.reason, done);
#endif
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
        if (notify)
            interop_kick(l->to_front);
        if (done == n)
            break;
        int work;
        RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
        if (!work && interop_wait(l->to_back) < 0)
            return fail(21, "waiting for requests", done);
    }
    return 0;
}
