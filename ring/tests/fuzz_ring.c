/* Fuzz harness for the hostile-peer consumers (libkxenring).
 *
 * The input is a script of steps. "Peer" steps write arbitrary bytes anywhere in the shared
 * pages (slots and indices alike), as a malicious frontend or guest could at any moment;
 * "backend" steps run the consumers exactly as blkback, xenstored (consume/produce with private
 * indices) and xenconsoled (read/write) do. After every step the harness checks the safety
 * properties and aborts (a crash for the fuzzer, a failure for the replay test) if one breaks:
 *   - no out-of-bounds access (AddressSanitizer; the pages are exact-size heap blocks);
 *   - one backend step with no peer write in between returns at most RING_SIZE requests
 *     (no spin), and a byte-ring read at most the ring size;
 *   - a dead ring stays dead, and an error is never reported without the guard saying why;
 *   - the backend never consumes more requests than it can answer.
 *
 * Built two ways: with clang -fsanitize=fuzzer (make ring-fuzz) and, for `make check`, with
 * gcc into test_ring_fuzz_replay, which replays ring/tests/corpus. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/io/blkif.h>
#include <kxen/ring_safe.h>

#include "fuzz_ring.h"

struct fuzz_ring_report fuzz_ring_last;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE 4096

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

struct world {
    unsigned char *blk_page; /* blkif shared ring */
    struct xenstore_domain_interface *xs;
    struct xencons_interface *cons;
    blkif_back_ring_t back;
    struct kxen_ring_guard blk_guard, xs_req_guard, xs_rsp_guard, cons_guard, cons_in_guard;
    uint32_t xs_req_cons, xs_rsp_prod; /* xenstored's private indices */
};

/* Reads the next n script bytes (zero-filled past the end). */
static size_t take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
    size_t have = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;
    memset(out, 0, n);
    memcpy(out, *p, have);
    *p += have;
    return have;
}

/* What a blkback would check on its private copy; the point here is that it only ever sees
 * the copy, whatever the peer does to the slot afterwards. */
static int16_t validate(const blkif_request_t *req)
{
    switch (req->operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        if (req->nr_segments == 0 || req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            return BLKIF_RSP_ERROR;
        for (unsigned s = 0; s < req->nr_segments; s++)
            if (req->seg[s].first_sect > req->seg[s].last_sect || req->seg[s].last_sect > 7)
                return BLKIF_RSP_ERROR;
        return BLKIF_RSP_OKAY;
    case BLKIF_OP_FLUSH_DISKCACHE:
        return req->nr_segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? BLKIF_RSP_OKAY
                                                                  : BLKIF_RSP_ERROR;
    default:
        return BLKIF_RSP_EOPNOTSUPP;
    }
}

static void peer_write(unsigned char *base, size_t len, const uint8_t **p, const uint8_t *end)
{
    uint16_t off;
    uint8_t n;
    take(p, end, &off, sizeof(off));
    take(p, end, &n, 1);
    off %= len;
    n %= 17;
    if (n > len - off)
        n = (uint8_t)(len - off);
    take(p, end, base + off, n);
}

static void backend_step(struct world *w, uint8_t budget)
{
    int was_dead = w->blk_guard.dead;
    unsigned got = 0;
    blkif_request_t req;
    int r;
    /* The budget lets the script leave requests unanswered for a while. */
    while ((r = RING_BACK_NEXT_REQUEST(&w->back, &req, &w->blk_guard)) == 1) {
        got++;
        CHECK(got <= RING_SIZE(&w->back));
        CHECK((RING_IDX)(w->back.req_cons - w->back.rsp_prod_pvt) <= RING_SIZE(&w->back));
        if (budget & 1) {
            blkif_response_t rsp = {
                .id = req.id, .operation = req.operation, .status = validate(&req)};
            RING_BACK_PUT_RESPONSE(&w->back, &rsp);
        }
        budget >>= 1;
    }
    CHECK(r == 0 || r == -EPROTO);
    if (r < 0)
        CHECK(w->blk_guard.dead && w->blk_guard.reason);
    if (was_dead)
        CHECK(r == -EPROTO && got == 0);
    int notify, work;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&w->back, notify);
    RING_FINAL_CHECK_FOR_REQUESTS(&w->back, work);
    CHECK(work <= (int)RING_SIZE(&w->back));
    (void)notify;
    fuzz_ring_last.backend_steps++;
    fuzz_ring_last.backend_requests += got;
    fuzz_ring_last.backend_errors += r < 0;
    fuzz_ring_last.blk_dead = w->blk_guard.dead;
}

static void bytering_step(struct kxen_bytering r, struct kxen_ring_guard *g, int write, uint8_t len)
{
    static char buf[2 * PAGE];
    int was_dead = g->dead;
    size_t want = (size_t)len * 16;
    ssize_t n =
        write ? kxen_bytering_write(&r, buf, want, g) : kxen_bytering_read(&r, buf, want, g);
    CHECK(n == -EPROTO || (n >= 0 && (size_t)n <= want && (size_t)n <= r.size));
    if (n < 0)
        CHECK(g->dead && g->reason);
    if (was_dead)
        CHECK(n == -EPROTO);
}

/* xenstored's way: our index private, only the peer's read from the page. */
static void xs_step(struct kxen_bytering r, uint32_t *own, struct kxen_ring_guard *g, int produce,
                    uint8_t len)
{
    static char buf[2 * PAGE];
    int was_dead = g->dead;
    uint32_t before = *own;
    size_t want = (size_t)len * 16;
    ssize_t n = produce ? kxen_bytering_produce(&r, own, buf, want, g)
                        : kxen_bytering_consume(&r, own, buf, want, g);
    CHECK(n == -EPROTO || (n >= 0 && (size_t)n <= want && (size_t)n <= r.size));
    if (n < 0)
        CHECK(g->dead && g->reason && *own == before);
    else
        CHECK(*own == before + (uint32_t)n);
    if (was_dead)
        CHECK(n == -EPROTO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct world w;
    memset(&w, 0, sizeof(w));
    memset(&fuzz_ring_last, 0, sizeof(fuzz_ring_last));
    w.blk_page = calloc(1, PAGE);
    w.xs = calloc(1, sizeof(*w.xs));
    w.cons = calloc(1, sizeof(*w.cons));
    if (!w.blk_page || !w.xs || !w.cons)
        abort();
    blkif_sring_t *s = (blkif_sring_t *)w.blk_page;
    SHARED_RING_INIT(s);
    BACK_RING_INIT(&w.back, s, PAGE);

    const uint8_t *p = data, *end = data + size;
    for (unsigned steps = 0; p < end && steps < 4096; steps++) {
        uint8_t op, arg;
        take(&p, end, &op, 1);
        switch (op % 8) {
        case 0:
            peer_write(w.blk_page, PAGE, &p, end);
            break;
        case 1:
            take(&p, end, &arg, 1);
            backend_step(&w, arg);
            break;
        case 2:
            peer_write((unsigned char *)w.xs, sizeof(*w.xs), &p, end);
            break;
        case 3:
            take(&p, end, &arg, 1);
            xs_step(kxen_bytering_xs_req(w.xs), &w.xs_req_cons, &w.xs_req_guard, 0, arg);
            break;
        case 4:
            take(&p, end, &arg, 1);
            xs_step(kxen_bytering_xs_rsp(w.xs), &w.xs_rsp_prod, &w.xs_rsp_guard, 1, arg);
            break;
        case 5:
            peer_write((unsigned char *)w.cons, sizeof(*w.cons), &p, end);
            break;
        case 6:
            take(&p, end, &arg, 1);
            /* xenconsoled drains out and, with the top bit, feeds user input into in. */
            if (arg & 0x80)
                bytering_step(kxen_bytering_cons_in(w.cons), &w.cons_in_guard, 1, arg & 0x7f);
            else
                bytering_step(kxen_bytering_cons_out(w.cons), &w.cons_guard, 0, arg);
            break;
        case 7: { /* a well-formed frontend burst: k valid requests published properly */
            uint8_t k;
            take(&p, end, &k, 1);
            RING_IDX prod = s->req_prod;
            for (unsigned i = 0; i < k % 40u; i++) {
                blkif_request_t *q =
                    (blkif_request_t *)&s->ring[(prod + i) & (RING_SIZE(&w.back) - 1)];
                memset(q, 0, sizeof(*q));
                q->operation = (uint8_t)(i % 3);
                q->nr_segments = (uint8_t)(1 + i % 11);
                q->id = prod + i;
            }
            s->req_prod = prod + k % 40u;
            break;
        }
        }
    }
    free(w.blk_page);
    free(w.xs);
    free(w.cons);
    return 0;
}
