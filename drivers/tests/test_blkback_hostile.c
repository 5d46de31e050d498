/* blkback against a hostile frontend: every malformed request gets BLKIF_RSP_ERROR and the
 * device stays up; a broken ring or bad handshake closes only that device, with `error`
 * written; nothing crashes and nothing leaks. */
#include <criterion/criterion.h>
#include <string.h>

#include "blk_env.h"

static struct blk_env env;

static bool be_closed(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateClosed;
}
static bool be_initwait(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateInitWait;
}

static int16_t send(const struct blkif_request *req)
{
    fb_push(&env.fb, 0, req);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp), "no response");
    cr_assert_eq(rsp.id, req->id);
    return rsp.status;
}

static struct blkif_request one_page(uint8_t op, uint64_t sector)
{
    struct blkif_request r = {.operation = op, .nr_segments = 1, .id = 42, .sector_number = sector};
    r.seg[0] =
        (struct blkif_request_segment){fake_grant(env.fp, fake_alloc_page(env.fp), false), 0, 7};
    return r;
}

static void connected(const char *mode)
{
    env_setup(&env, NULL, mode, 0, 1, false);
    cr_assert(fb_connect(&env.fb));
}

static void still_connected(void)
{
    cr_assert_eq(fb_backend_state(&env.fb), XenbusStateConnected);
    static char buf[4096];
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_READ, 0, 1, buf), BLKIF_RSP_OKAY);
}

Test(blkback_hostile, more_than_eleven_segments_is_an_error_response)
{
    connected("w");
    struct blkif_request r = one_page(BLKIF_OP_READ, 0);
    r.nr_segments = 12;
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    r.nr_segments = 0;
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, reversed_or_out_of_page_sectors_are_error_responses)
{
    connected("w");
    struct blkif_request r = one_page(BLKIF_OP_READ, 0);
    r.seg[0].first_sect = 5;
    r.seg[0].last_sect = 4;
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    r.seg[0].first_sect = 0;
    r.seg[0].last_sect = 8;
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, requests_past_the_end_of_the_disk_are_error_responses)
{
    connected("w");
    struct blkif_request r = one_page(BLKIF_OP_READ, ENV_SECTORS - 7);
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR, "one sector past the end");
    r.sector_number = UINT64_MAX - 3;
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR, "wrapping sector");
    r.sector_number = ENV_SECTORS - 8;
    cr_assert_eq(send(&r), BLKIF_RSP_OKAY, "the last page is fine");
    struct blkif_request_discard d = {
        .operation = BLKIF_OP_DISCARD, .id = 42, .sector_number = 8, .nr_sectors = UINT64_MAX};
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &d, sizeof(d));
    cr_assert_eq(send(&raw), BLKIF_RSP_ERROR, "discard range wraps");
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, a_bad_grant_reference_is_an_error_response_and_maps_nothing)
{
    connected("w");
    struct blkif_request r = one_page(BLKIF_OP_READ, 0);
    r.nr_segments = 2;
    r.seg[1] = (struct blkif_request_segment){99999, 0, 7};
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 1, "only the ring");
    /* A read-only grant for a read (the backend must write the page) fails the same way. */
    r = one_page(BLKIF_OP_READ, 0);
    r.seg[0].gref = fake_grant(env.fp, fake_alloc_page(env.fp), true);
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, unknown_and_unadvertised_operations_are_not_supported)
{
    connected("w");
    struct blkif_request r = one_page(BLKIF_OP_WRITE_BARRIER, 0);
    cr_assert_eq(send(&r), BLKIF_RSP_EOPNOTSUPP);
    r.operation = 200;
    cr_assert_eq(send(&r), BLKIF_RSP_EOPNOTSUPP);
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, read_only_disk_refuses_writes_and_discards_and_keeps_its_data)
{
    static char img[4096], after[4096];
    connected("r");
    env_image_read(&env, 0, img, sizeof(img));
    struct blkif_request r = one_page(BLKIF_OP_WRITE, 0);
    memset(fake_page(env.fp, fake_alloc_page(env.fp) - 1), 0x77, 4096);
    cr_assert_eq(send(&r), BLKIF_RSP_ERROR);
    struct blkif_request_discard d = {
        .operation = BLKIF_OP_DISCARD, .id = 42, .sector_number = 0, .nr_sectors = 8};
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &d, sizeof(d));
    cr_assert_neq(send(&raw), BLKIF_RSP_OKAY);
    env_image_read(&env, 0, after, sizeof(after));
    cr_assert_eq(memcmp(img, after, sizeof(img)), 0);
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, indirect_requests_with_bad_counts_or_segments_are_error_responses)
{
    connected("w");
    struct blkif_request_indirect in = {
        .operation = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ, .nr_segments = 257, .id = 42};
    unsigned int ind = fake_alloc_page(env.fp);
    in.indirect_grefs[0] = fake_grant(env.fp, ind, true);
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &in, sizeof(in));
    cr_assert_eq(send(&raw), BLKIF_RSP_ERROR, "more than advertised");
    /* A segment in the indirect page with last_sect 9. */
    struct blkif_request_segment *segs = fake_page(env.fp, ind);
    segs[0] =
        (struct blkif_request_segment){fake_grant(env.fp, fake_alloc_page(env.fp), false), 0, 9};
    in.nr_segments = 1;
    memcpy(&raw, &in, sizeof(in));
    cr_assert_eq(send(&raw), BLKIF_RSP_ERROR, "bad segment in the indirect page");
    in.indirect_op = BLKIF_OP_DISCARD;
    memcpy(&raw, &in, sizeof(in));
    cr_assert_eq(send(&raw), BLKIF_RSP_ERROR, "indirect carries only reads and writes");
    still_connected();
    env_teardown(&env);
}

Test(blkback_hostile, a_producer_overrun_closes_only_that_device_with_error_written)
{
    connected("w");
    blkif_sring_t *s = env.fb.q[0].sring;
    s->req_prod = 1000; /* far beyond the 32 slots */
    fake_evtchn_notify_from_frontend(env.fp, env.fb.q[0].port);
    cr_assert(fb_pump(&env.fb, be_closed));
    cr_assert_neq(env_be_key(&env, "error")[0], '\0');
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0, "ring unmapped");
    cr_assert_eq(env.nr_logs, 1, "logged once: %s", env.log);
    cr_assert(strstr(env.log, "vbd-5-51712"), "names the device: %s", env.log);
    env_teardown(&env);
}

static void handshake_fails(const char *key, const char *val)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_pump(&env.fb, be_initwait));
    fb_talk(&env.fb);
    env_fe_write(&env, key, val);
    blkback_poll(env.bb);
    cr_assert(fb_pump(&env.fb, be_closed), "%s=%s accepted", key, val);
    cr_assert_neq(env_be_key(&env, "error")[0], '\0');
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 0);
    cr_assert_eq(env.nr_logs, 1, "logged once: %s", env.log);
    cr_assert(strstr(env.log, "vbd-5-51712: "), "names the device: %s", env.log);
    env_teardown(&env);
}

Test(blkback_hostile, ring_page_order_above_the_advertised_maximum_is_refused)
{
    handshake_fails("ring-page-order", "5");
}

Test(blkback_hostile, more_queues_than_advertised_are_refused)
{
    handshake_fails("multi-queue-num-queues", "5");
}

Test(blkback_hostile, zero_queues_are_refused)
{
    handshake_fails("multi-queue-num-queues", "0");
}

Test(blkback_hostile, garbage_in_ring_ref_is_refused)
{
    handshake_fails("ring-ref", "12abc");
}

Test(blkback_hostile, a_negative_event_channel_is_refused)
{
    handshake_fails("event-channel", "-1");
}

Test(blkback_hostile, an_overlong_protocol_value_is_refused)
{
    static char big[200];
    memset(big, 'x', sizeof(big) - 1);
    handshake_fails("protocol", big);
}

Test(blkback_hostile, a_32_bit_protocol_is_refused)
{
    handshake_fails("protocol", "x86_32-abi");
}

Test(blkback_hostile, a_grant_reference_that_is_not_granted_is_refused)
{
    handshake_fails("ring-ref", "4000");
}

Test(blkback_hostile, a_frontend_that_vanishes_mid_io_is_disconnected_cleanly)
{
    connected("w");
    /* Fill the ring with writes, then remove the frontend directory at once. */
    for (unsigned int i = 0; i < 16; i++) {
        unsigned int pg = fake_alloc_page(env.fp);
        struct blkif_request req = {.operation = BLKIF_OP_WRITE,
                                    .nr_segments = 1,
                                    .id = i,
                                    .sector_number = (uint64_t)i * 8};
        req.seg[0] = (struct blkif_request_segment){fake_grant(env.fp, pg, true), 0, 7};
        fb_push(&env.fb, 0, &req);
    }
    struct xenbus_platform *p = fake_platform_base(env.fp);
    xenbus_evtchn_dispatch(p); /* requests submitted, completions pending */
    fake_xs_rm(env.fp, env.fb.fe);
    cr_assert(fb_pump(&env.fb, be_closed));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 0);
    env_teardown(&env);
}

Test(blkback_hostile, a_frontend_path_outside_the_frontend_domain_is_refused)
{
    struct fake_platform *fp = fake_platform_new(0);
    fake_xs_write(fp, "/local/domain/0/backend/vbd/5/1/frontend-id", "5");
    fake_xs_write(fp, "/local/domain/0/backend/vbd/5/1/online", "1");
    fake_xs_write(fp, "/local/domain/0/backend/vbd/5/1/state", "1");
    fake_xs_write(fp, "/local/domain/0/backend/vbd/5/1/frontend", "/local/domain/0/secret");
    struct blkback *bb = blkback_new(fake_platform_base(fp), NULL, NULL, NULL);
    cr_assert_eq(blkback_start(bb), 0);
    blkback_poll(bb);
    char st[8], err[128];
    cr_assert_geq(fake_xs_read(fp, "/local/domain/0/backend/vbd/5/1/state", st, 8), 0);
    cr_assert_str_eq(st, "6");
    cr_assert_geq(fake_xs_read(fp, "/local/domain/0/backend/vbd/5/1/error", err, 128), 0);
    cr_assert_eq(fake_xs_nr_watches(fp), 1, "the frontend path is not watched");
    blkback_free(bb);
    xenbus_platform_destroy(fake_platform_base(fp));
}
