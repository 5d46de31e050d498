/* libkxenring against a hostile peer, in one process: the "peer" writes the shared page
 * directly. Covers the request/response consumers and the byte-stream rings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <kxen/io/blkif.h>
#include <kxen/ring_safe.h>

#define PAGE 4096

static _Alignas(4096) unsigned char page[PAGE];

static void fill_req(blkif_request_t *r, uint64_t id)
{
    memset(r, 0, sizeof(*r));
    r->operation = BLKIF_OP_READ;
    r->nr_segments = 1;
    r->id = id;
    r->sector_number = id * 8;
    r->seg[0].gref = (grant_ref_t)(id + 100);
    r->seg[0].last_sect = 7;
}

/* A well-behaved frontend (kxen's macros) and a guarded backend. */
static void setup(blkif_front_ring_t *f, blkif_back_ring_t *b)
{
    memset(page, 0, sizeof(page));
    blkif_sring_t *s = (blkif_sring_t *)page;
    SHARED_RING_INIT(s);
    FRONT_RING_INIT(f, s, PAGE);
    BACK_RING_INIT(b, s, PAGE);
}

Test(ring_safe, backend_gets_each_request_in_order_then_nothing)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    for (uint64_t i = 0; i < 5; i++)
        fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), i);
    RING_PUSH_REQUESTS(&f);

    blkif_request_t req;
    for (uint64_t i = 0; i < 5; i++) {
        cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), 1);
        cr_assert_eq(req.id, i);
        cr_assert_eq(req.seg[0].gref, i + 100);
    }
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), 0);
    cr_assert_eq(b.req_cons, 5);
    cr_assert_not(g.dead);
}

Test(ring_safe, request_is_copied_once_so_later_peer_writes_do_not_change_it)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    blkif_request_t *shared = RING_GET_REQUEST(&f, f.req_prod_pvt++);
    fill_req(shared, 7);
    RING_PUSH_REQUESTS(&f);

    blkif_request_t req;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), 1);
    shared->nr_segments = 200; /* the peer rewrites the slot after we took it */
    shared->id = 99;
    cr_assert_eq(req.nr_segments, 1);
    cr_assert_eq(req.id, 7);
}

Test(ring_safe, producer_index_more_than_a_ring_ahead_kills_the_ring)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    f.sring->req_prod = RING_SIZE(&b) + 1; /* claims 33 requests in a 32-slot ring */

    blkif_request_t req;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), -EPROTO);
    cr_assert(g.dead);
    cr_assert_eq(g.prod, RING_SIZE(&b) + 1);
    cr_assert_eq(g.size, RING_SIZE(&b));
    char buf[160];
    cr_assert(strstr(kxen_ring_guard_describe(&g, buf, sizeof(buf)), "more than a ring ahead"),
              "%s", buf);
    cr_assert_eq(b.req_cons, 0, "nothing was consumed");

    /* Dead stays dead, even once the peer "repairs" the index. */
    f.sring->req_prod = 1;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), -EPROTO);
}

Test(ring_safe, producer_index_moved_backwards_kills_the_ring)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    b.req_cons = b.rsp_prod_pvt = 10;
    f.sring->req_prod = 9;
    blkif_request_t req;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), -EPROTO);
    cr_assert(g.dead);
}

Test(ring_safe, requests_overrunning_unanswered_slots_kill_the_ring)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    unsigned int n = RING_SIZE(&b);
    /* The backend consumed a full ring without answering; one more request would overwrite a
     * slot whose response is still owed. */
    b.req_cons = n;
    f.sring->req_prod = n + 1;
    blkif_request_t req;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), -EPROTO);
    cr_assert(strstr(g.reason, "responses"), "%s", g.reason);
}

Test(ring_safe, indices_wrap_around_32_bits)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    RING_IDX start = 0xfffffffeu;
    FRONT_RING_ATTACH(&f, f.sring, start, PAGE);
    BACK_RING_ATTACH(&b, f.sring, start, PAGE);
    f.sring->req_prod = f.sring->rsp_prod = start;
    for (uint64_t i = 0; i < 4; i++)
        fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), i);
    RING_PUSH_REQUESTS(&f);
    blkif_request_t req;
    for (uint64_t i = 0; i < 4; i++) {
        cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &g), 1);
        cr_assert_eq(req.id, i);
    }
    cr_assert_eq(b.req_cons, 2u);
    cr_assert_not(g.dead);
}

Test(ring_safe, frontend_rejects_responses_to_requests_never_sent)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), 1);
    RING_PUSH_REQUESTS(&f);
    f.sring->rsp_prod = 2; /* two responses for one request */
    blkif_response_t rsp;
    cr_assert_eq(RING_FRONT_NEXT_RESPONSE(&f, &rsp, &g), -EPROTO);
    cr_assert(g.dead);
}

Test(ring_safe, frontend_gets_responses_put_by_backend)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard gb = {0}, gf = {0};
    setup(&f, &b);
    fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), 42);
    RING_PUSH_REQUESTS(&f);
    blkif_request_t req;
    cr_assert_eq(RING_BACK_NEXT_REQUEST(&b, &req, &gb), 1);
    blkif_response_t out = {.id = req.id, .operation = req.operation, .status = BLKIF_RSP_OKAY};
    RING_BACK_PUT_RESPONSE(&b, &out);
    int notify;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, notify);
    cr_assert(notify, "rsp_event starts at 1, so the first response notifies");
    blkif_response_t rsp;
    cr_assert_eq(RING_FRONT_NEXT_RESPONSE(&f, &rsp, &gf), 1);
    cr_assert_eq(rsp.id, 42);
    cr_assert_eq(RING_FRONT_NEXT_RESPONSE(&f, &rsp, &gf), 0);
}

Test(ring_safe, hold_off_suppresses_notifications_until_consumer_asks)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    setup(&f, &b);
    int notify, work;
    fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), 0);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    cr_assert(notify, "req_event = 1 asks for the first request");
    fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), 1);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    cr_assert_not(notify, "the backend has not consumed anything nor re-armed");

    b.req_cons = 2; /* backend consumed both, re-arms, finds nothing */
    b.rsp_prod_pvt = 2;
    RING_FINAL_CHECK_FOR_REQUESTS(&b, work);
    cr_assert_eq(work, 0);
    cr_assert_eq(f.sring->req_event, 3);
    fill_req(RING_GET_REQUEST(&f, f.req_prod_pvt++), 2);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
    cr_assert(notify, "the re-armed backend is woken");
}

Test(ring_safe, bad_arguments_are_refused)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    struct kxen_ring_guard g = {0};
    setup(&f, &b);
    blkif_request_t req;
    cr_assert_eq(kxen_ring_back_get(page, 3, 112, &b.req_cons, 0, &req, sizeof(req), &g), -EINVAL,
                 "ring size must be a power of two");
    cr_assert_eq(kxen_ring_back_get(page, 32, 8, &b.req_cons, 0, &req, sizeof(req), &g), -EINVAL,
                 "copy larger than a slot");
    cr_assert_eq(kxen_ring_back_get(NULL, 32, 112, &b.req_cons, 0, &req, sizeof(req), &g), -EINVAL);
    cr_assert_not(g.dead, "our own mistakes do not kill the ring");
}

/* ---- byte rings ---------------------------------------------------------------------------- */

Test(bytering, console_output_round_trips_across_the_wrap)
{
    static struct xencons_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_cons_out(&intf);
    struct kxen_ring_guard g = {0};
    intf.out_prod = intf.out_cons = 2040; /* 8 bytes before the end of the 2048-byte ring */
    const char msg[] = "hello, console";
    cr_assert_eq(kxen_bytering_write(&r, msg, sizeof(msg), &g), (ssize_t)sizeof(msg));
    cr_assert_eq(kxen_bytering_avail(&r, &g), (ssize_t)sizeof(msg));
    char out[64];
    cr_assert_eq(kxen_bytering_read(&r, out, sizeof(out), &g), (ssize_t)sizeof(msg));
    cr_assert_str_eq(out, msg);
    cr_assert_eq(intf.out_cons, 2040 + sizeof(msg));
    cr_assert_eq(kxen_bytering_read(&r, out, sizeof(out), &g), 0);
}

Test(bytering, writer_stops_when_full)
{
    static struct xencons_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_cons_in(&intf);
    struct kxen_ring_guard g = {0};
    static char big[2000];
    memset(big, 'x', sizeof(big));
    cr_assert_eq(kxen_bytering_write(&r, big, sizeof(big), &g), 1024);
    cr_assert_eq(kxen_bytering_write(&r, big, sizeof(big), &g), 0);
    cr_assert_not(g.dead);
}

Test(bytering, xenstore_indices_further_apart_than_the_ring_kill_it)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_req(&intf);
    struct kxen_ring_guard g = {0};
    intf.req_cons = 5;
    intf.req_prod = 5 + XENSTORE_RING_SIZE + 1;
    char out[16];
    cr_assert_eq(kxen_bytering_read(&r, out, sizeof(out), &g), -EPROTO);
    cr_assert(g.dead);
    cr_assert_eq(g.size, XENSTORE_RING_SIZE);
    cr_assert_eq(intf.req_cons, 5, "consumer index untouched");
    intf.req_prod = 6;
    cr_assert_eq(kxen_bytering_read(&r, out, sizeof(out), &g), -EPROTO, "dead stays dead");
}

Test(bytering, xenstore_consumer_index_ahead_of_producer_is_caught_by_writer)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_rsp(&intf);
    struct kxen_ring_guard g = {0};
    intf.rsp_prod = 10;
    intf.rsp_cons = 11; /* the guest moved our peer's index past ours */
    cr_assert_eq(kxen_bytering_write(&r, "x", 1, &g), -EPROTO);
    cr_assert(g.dead);
}

Test(bytering, full_ring_exactly_at_size_is_legal)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_req(&intf);
    struct kxen_ring_guard g = {0};
    intf.req_cons = 0xfffffff0u;
    intf.req_prod = intf.req_cons + XENSTORE_RING_SIZE;
    static char out[2 * XENSTORE_RING_SIZE];
    cr_assert_eq(kxen_bytering_read(&r, out, sizeof(out), &g), XENSTORE_RING_SIZE);
    cr_assert_not(g.dead);
}

/* xenstored's way: our index is private, the page's copy of it is only written. */
Test(bytering, private_consumer_ignores_what_the_peer_writes_to_our_index)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_req(&intf);
    struct kxen_ring_guard g = {0};
    uint32_t cons = 0xfffffffeu; /* about to wrap */
    intf.req[MASK_XENSTORE_IDX(0xfffffffeu)] = 'a';
    intf.req[MASK_XENSTORE_IDX(0xffffffffu)] = 'b';
    intf.req[0] = 'c';
    intf.req_prod = 1;      /* three bytes: across the wrap */
    intf.req_cons = 500000; /* the guest scribbles on our index: not read */
    char out[8];
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, 2, &g), 2);
    cr_assert_eq(memcmp(out, "ab", 2), 0);
    cr_assert_eq(cons, 0u);
    cr_assert_eq(intf.req_cons, 0u, "our index is published");
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, sizeof(out), &g), 1);
    cr_assert_eq(out[0], 'c');
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, sizeof(out), &g), 0, "empty");
    cr_assert_not(g.dead);
}

Test(bytering, private_consumer_kills_the_ring_on_a_producer_a_ring_ahead)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_req(&intf);
    struct kxen_ring_guard g = {0};
    uint32_t cons = 7;
    intf.req_prod = 7 + XENSTORE_RING_SIZE; /* exactly full: legal */
    static char out[2 * XENSTORE_RING_SIZE];
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, sizeof(out), &g), XENSTORE_RING_SIZE);
    intf.req_prod = cons + XENSTORE_RING_SIZE + 1;
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, sizeof(out), &g), -EPROTO);
    cr_assert(g.dead);
    cr_assert_eq(cons, 7u + XENSTORE_RING_SIZE, "nothing consumed from a broken ring");
    intf.req_prod = cons - 1; /* backwards: wraps to a huge distance */
    cr_assert_eq(kxen_bytering_consume(&r, &cons, out, sizeof(out), &g), -EPROTO,
                 "dead stays dead");
}

Test(bytering, private_producer_fills_free_space_and_refuses_a_consumer_ahead)
{
    static struct xenstore_domain_interface intf;
    memset(&intf, 0, sizeof(intf));
    struct kxen_bytering r = kxen_bytering_xs_rsp(&intf);
    struct kxen_ring_guard g = {0};
    static char big[2 * XENSTORE_RING_SIZE];
    memset(big, 'r', sizeof(big));
    uint32_t prod = 100;
    intf.rsp_cons = 100;
    intf.rsp_prod = 3; /* the guest scribbles on our index: not read */
    cr_assert_eq(kxen_bytering_produce(&r, &prod, big, sizeof(big), &g), XENSTORE_RING_SIZE);
    cr_assert_eq(prod, 100u + XENSTORE_RING_SIZE);
    cr_assert_eq(intf.rsp_prod, prod, "our index is published");
    cr_assert_eq(kxen_bytering_produce(&r, &prod, "x", 1, &g), 0, "full");
    intf.rsp_cons += 10;
    cr_assert_eq(kxen_bytering_produce(&r, &prod, big, sizeof(big), &g), 10);
    intf.rsp_cons = prod + 1; /* claims to have read a byte never written */
    cr_assert_eq(kxen_bytering_produce(&r, &prod, "x", 1, &g), -EPROTO);
    cr_assert(g.dead);
    cr_assert_eq(g.prod, prod);
    cr_assert_eq(g.cons, prod + 1);
}

Test(ring_macros, copy_request_and_response_take_private_copies)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    setup(&f, &b);
    blkif_request_t *slot = RING_GET_REQUEST(&f, 0);
    fill_req(slot, 5);
    blkif_request_t req;
    RING_COPY_REQUEST(&b, 0, &req);
    slot->id = 6;
    cr_assert_eq(req.id, 5);
    cr_assert_eq(req.seg[0].gref, 105);

    blkif_response_t *rslot = RING_GET_RESPONSE(&b, 0);
    rslot->id = 9;
    rslot->status = BLKIF_RSP_EOPNOTSUPP;
    blkif_response_t rsp;
    RING_COPY_RESPONSE(&f, 0, &rsp);
    rslot->status = BLKIF_RSP_OKAY;
    cr_assert_eq(rsp.id, 9);
    cr_assert_eq(rsp.status, BLKIF_RSP_EOPNOTSUPP);
}

Test(ring_macros, free_requests_full_and_overflow_checks)
{
    blkif_front_ring_t f;
    blkif_back_ring_t b;
    setup(&f, &b);
    cr_assert_eq(RING_SIZE(&f), 32);
    cr_assert_eq(RING_FREE_REQUESTS(&f), 32);
    f.req_prod_pvt = 32;
    cr_assert(RING_FULL(&f));
    f.rsp_cons = 1;
    cr_assert_eq(RING_FREE_REQUESTS(&f), 1);
    cr_assert_not(RING_REQUEST_PROD_OVERFLOW(&b, 32));
    cr_assert(RING_REQUEST_PROD_OVERFLOW(&b, 33));
    cr_assert(RING_REQUEST_CONS_OVERFLOW(&b, 32));
    cr_assert_not(RING_REQUEST_CONS_OVERFLOW(&b, 31));
    f.req_prod_pvt = 3;
    f.rsp_cons = 0;
    cr_assert(RING_RESPONSE_PROD_OVERFLOW(&f, 33));
    cr_assert_not(RING_RESPONSE_PROD_OVERFLOW(&f, 32));
}
