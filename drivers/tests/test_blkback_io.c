/* blkback's data plane against a temporary raw image: every operation, data checked on both
 * sides, with and without persistent grants. */
#include <criterion/criterion.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>

#include "blk_env.h"

static struct blk_env env;

static void fill(char *buf, size_t len, unsigned int seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(seed * 31 + i * 7);
}

Test(blkback_io, an_eleven_segment_write_lands_in_the_image_and_reads_back)
{
    static char out[11 * 4096], in[11 * 4096], img[11 * 4096];
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    fill(out, sizeof(out), 1);
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_WRITE, 800, 11, out), BLKIF_RSP_OKAY);
    env_image_read(&env, 800 * 512, img, sizeof(img));
    cr_assert_eq(memcmp(out, img, sizeof(img)), 0, "image differs from what was written");
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_READ, 800, 11, in), BLKIF_RSP_OKAY);
    cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 1, "data grants unmapped after each request");
    env_teardown(&env);
}

Test(blkback_io, partial_page_segments_read_exactly_their_sectors)
{
    static char img[4096];
    env_setup(&env, NULL, "w", 0, 1, false);
    fill(img, sizeof(img), 9);
    env_image_write(&env, 40 * 512, img, sizeof(img));
    cr_assert(fb_connect(&env.fb));
    unsigned int pg = fake_alloc_page(env.fp);
    memset(fake_page(env.fp, pg), 0xee, 4096);
    struct blkif_request req = {
        .operation = BLKIF_OP_READ, .nr_segments = 1, .id = 3, .sector_number = 40};
    req.seg[0] = (struct blkif_request_segment){fake_grant(env.fp, pg, false), 2, 4};
    fb_push(&env.fb, 0, &req);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    cr_assert_eq(rsp.operation, BLKIF_OP_READ);
    const unsigned char *p = fake_page(env.fp, pg);
    cr_assert_eq(p[0], 0xee, "sectors before first_sect untouched");
    cr_assert_eq(memcmp(p + 2 * 512, img, 3 * 512), 0);
    cr_assert_eq(p[5 * 512], 0xee, "sectors after last_sect untouched");
    env_teardown(&env);
}

Test(blkback_io, flush_and_discard_succeed_and_discard_zeroes_the_range)
{
    static char img[8192], back[8192];
    env_setup(&env, NULL, "w", 0, 1, false);
    memset(img, 0x11, sizeof(img));
    env_image_write(&env, 1024 * 512, img, sizeof(img));
    cr_assert(fb_connect(&env.fb));
    struct blkif_request flush = {.operation = BLKIF_OP_FLUSH_DISKCACHE, .id = 1};
    fb_push(&env.fb, 0, &flush);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    cr_assert_eq(rsp.operation, BLKIF_OP_FLUSH_DISKCACHE);
    struct blkif_request_discard d = {
        .operation = BLKIF_OP_DISCARD, .id = 2, .sector_number = 1024, .nr_sectors = 16};
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &d, sizeof(d));
    fb_push(&env.fb, 0, &raw);
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.id, 2);
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    env_image_read(&env, 1024 * 512, back, sizeof(back));
    for (size_t i = 0; i < sizeof(back); i++)
        cr_assert_eq(back[i], 0, "byte %zu not discarded", i);
    env_teardown(&env);
}

/* An indirect request of n whole-page segments at sector; returns the status. */
static int indirect_rw(uint8_t op, uint64_t sector, unsigned int n, char *data)
{
    unsigned int ind = fake_alloc_page(env.fp);
    struct blkif_request_segment *segs = fake_page(env.fp, ind);
    unsigned int pages[64];
    cr_assert_leq(n, 64);
    for (unsigned int i = 0; i < n; i++) {
        pages[i] = fake_alloc_page(env.fp);
        if (op == BLKIF_OP_WRITE)
            memcpy(fake_page(env.fp, pages[i]), data + i * 4096, 4096);
        segs[i] = (struct blkif_request_segment){fake_grant(env.fp, pages[i], false), 0, 7};
    }
    struct blkif_request_indirect in = {.operation = BLKIF_OP_INDIRECT,
                                        .indirect_op = op,
                                        .nr_segments = (uint16_t)n,
                                        .id = 9,
                                        .sector_number = sector};
    in.indirect_grefs[0] = fake_grant(env.fp, ind, true);
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &in, sizeof(in));
    fb_push(&env.fb, 0, &raw);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.id, 9);
    cr_assert_eq(rsp.operation, op, "indirect requests are answered with their indirect_op");
    if (op == BLKIF_OP_READ)
        for (unsigned int i = 0; i < n; i++)
            memcpy(data + i * 4096, fake_page(env.fp, pages[i]), 4096);
    return rsp.status;
}

Test(blkback_io, indirect_requests_of_thirty_two_segments_write_and_read_back)
{
    static char out[32 * 4096], in[32 * 4096], img[32 * 4096];
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    fill(out, sizeof(out), 4);
    cr_assert_eq(indirect_rw(BLKIF_OP_WRITE, 2048, 32, out), BLKIF_RSP_OKAY);
    env_image_read(&env, 2048 * 512, img, sizeof(img));
    cr_assert_eq(memcmp(out, img, sizeof(img)), 0);
    cr_assert_eq(indirect_rw(BLKIF_OP_READ, 2048, 32, in), BLKIF_RSP_OKAY);
    cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
    env_teardown(&env);
}

Test(blkback_io, persistent_grants_stay_mapped_and_are_reused_up_to_the_bound)
{
    struct blkback_config cfg;
    blkback_config_default(&cfg);
    cfg.max_persistent_grants = 4;
    env_setup(&env, &cfg, "w", 0, 1, true);
    cr_assert(fb_connect(&env.fb));
    static char buf[3 * 4096];
    fill(buf, sizeof(buf), 2);
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_WRITE, 0, 3, buf), BLKIF_RSP_OKAY);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 1 + 3, "three grants kept");
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_WRITE, 24, 3, buf), BLKIF_RSP_OKAY);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 1 + 4, "bounded at four");
    /* The same gref twice: the kept mapping is reused and sees the frontend's new data. */
    unsigned int pg = fake_alloc_page(env.fp);
    uint32_t g = fake_grant(env.fp, pg, false);
    struct blkif_request req = {.operation = BLKIF_OP_WRITE, .nr_segments = 1, .id = 5};
    req.seg[0] = (struct blkif_request_segment){g, 0, 7};
    for (int round = 0; round < 2; round++) {
        memset(fake_page(env.fp, pg), 'a' + round, 4096);
        req.sector_number = 100 + (uint64_t)round * 8;
        fb_push(&env.fb, 0, &req);
        struct blkif_response rsp;
        cr_assert(fb_wait_response(&env.fb, 0, &rsp));
        cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    }
    char b[2];
    env_image_read(&env, 100 * 512, &b[0], 1);
    env_image_read(&env, 108 * 512, &b[1], 1);
    cr_assert_eq(b[0], 'a');
    cr_assert_eq(b[1], 'b');
    env_teardown(&env);
}

Test(blkback_io, many_requests_in_flight_complete_with_their_own_ids)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    unsigned int n = 24, pages[24];
    for (unsigned int i = 0; i < n; i++) {
        pages[i] = fake_alloc_page(env.fp);
        memset(fake_page(env.fp, pages[i]), (int)i, 4096);
        struct blkif_request req = {.operation = BLKIF_OP_WRITE,
                                    .nr_segments = 1,
                                    .id = 1000 + i,
                                    .sector_number = (uint64_t)i * 8};
        req.seg[0] = (struct blkif_request_segment){fake_grant(env.fp, pages[i], true), 0, 7};
        fb_push(&env.fb, 0, &req);
    }
    bool seen[24] = {false};
    for (unsigned int i = 0; i < n; i++) {
        struct blkif_response rsp;
        cr_assert(fb_wait_response(&env.fb, 0, &rsp));
        cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
        cr_assert(rsp.id >= 1000 && rsp.id < 1000 + n && !seen[rsp.id - 1000]);
        seen[rsp.id - 1000] = true;
    }
    for (unsigned int i = 0; i < n; i++) {
        unsigned char b;
        env_image_read(&env, (uint64_t)i * 4096 + 17, &b, 1);
        cr_assert_eq(b, i);
    }
    cr_assert_gt(fake_evtchn_notified(env.fp, env.fb.q[0].port), 0);
    env_teardown(&env);
}

Test(blkback_io, a_flush_carrying_data_writes_it_then_flushes)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    unsigned int pg = fake_alloc_page(env.fp);
    memset(fake_page(env.fp, pg), 'F', 4096);
    struct blkif_request req = {
        .operation = BLKIF_OP_FLUSH_DISKCACHE, .nr_segments = 1, .id = 6, .sector_number = 64};
    req.seg[0] = (struct blkif_request_segment){fake_grant(env.fp, pg, true), 0, 7};
    fb_push(&env.fb, 0, &req);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    cr_assert_eq(rsp.operation, BLKIF_OP_FLUSH_DISKCACHE);
    char b;
    env_image_read(&env, 64 * 512 + 4095, &b, 1);
    cr_assert_eq(b, 'F');
    env_teardown(&env);
}

/* An image on tmpfs is read and written by the thread that takes the requests off the ring:
 * the same answers and data, each request with its own id, the grants released as before. */
Test(blkback_io, an_image_on_tmpfs_is_served_on_the_ring_thread_with_the_same_results)
{
    struct statfs fs;
    if (statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC)
        cr_skip_test("no tmpfs at /dev/shm");
    static char out[32 * 4096], in[32 * 4096], img[32 * 4096];
    struct blkback_config cfg;
    blkback_config_default(&cfg);
    cfg.inline_in_memory = true;
    env_image_dir = "/dev/shm";
    env_setup(&env, &cfg, "w", 0, 1, true);
    env_image_dir = "/tmp";
    cr_assert(fb_connect(&env.fb));
    fill(out, sizeof(out), 6);
    cr_assert_eq(indirect_rw(BLKIF_OP_WRITE, 4096, 32, out), BLKIF_RSP_OKAY);
    env_image_read(&env, 4096 * 512, img, sizeof(img));
    cr_assert_eq(memcmp(out, img, sizeof(img)), 0);
    cr_assert_eq(indirect_rw(BLKIF_OP_READ, 4096, 32, in), BLKIF_RSP_OKAY);
    cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
    unsigned int n = 24;
    for (unsigned int i = 0; i < n; i++) {
        unsigned int pg = fake_alloc_page(env.fp);
        memset(fake_page(env.fp, pg), (int)i, 4096);
        struct blkif_request req = {.operation = BLKIF_OP_WRITE,
                                    .nr_segments = 1,
                                    .id = 1000 + i,
                                    .sector_number = (uint64_t)i * 8};
        req.seg[0] = (struct blkif_request_segment){fake_grant(env.fp, pg, false), 0, 7};
        fb_push(&env.fb, 0, &req);
    }
    bool seen[24] = {false};
    for (unsigned int i = 0; i < n; i++) {
        struct blkif_response rsp;
        cr_assert(fb_wait_response(&env.fb, 0, &rsp));
        cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
        cr_assert(rsp.id >= 1000 && rsp.id < 1000 + n && !seen[rsp.id - 1000]);
        seen[rsp.id - 1000] = true;
    }
    for (unsigned int i = 0; i < n; i++) {
        unsigned char b;
        env_image_read(&env, (uint64_t)i * 4096 + 17, &b, 1);
        cr_assert_eq(b, i);
    }
    struct blkif_request flush = {.operation = BLKIF_OP_FLUSH_DISKCACHE, .id = 7};
    fb_push(&env.fb, 0, &flush);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.id, 7);
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    env_teardown(&env);
}

/* With persistent grants an indirect segment page is kept (read-only) like a data page; when
 * the frontend later names it as a data page of a read, blkback maps it again writable. */
Test(blkback_io, a_kept_indirect_page_is_reused_and_later_written_as_a_data_page)
{
    env_setup(&env, NULL, "w", 0, 1, true);
    cr_assert(fb_connect(&env.fb));
    unsigned int ind = fake_alloc_page(env.fp), data = fake_alloc_page(env.fp);
    uint32_t ind_ref = fake_grant(env.fp, ind, false), data_ref = fake_grant(env.fp, data, false);
    struct blkif_request_segment *segs = fake_page(env.fp, ind);
    for (unsigned int i = 0; i < 12; i++)
        segs[i] = (struct blkif_request_segment){data_ref, 0, 7};
    struct blkif_request_indirect in = {.operation = BLKIF_OP_INDIRECT,
                                        .indirect_op = BLKIF_OP_WRITE,
                                        .nr_segments = 12,
                                        .sector_number = 256};
    in.indirect_grefs[0] = ind_ref;
    struct blkif_request raw;
    struct blkif_response rsp;
    unsigned int mapped = 0;
    for (unsigned int round = 0; round < 2; round++) {
        memset(fake_page(env.fp, data), 'p' + (int)round, 4096);
        in.id = 20 + round;
        memset(&raw, 0, sizeof(raw));
        memcpy(&raw, &in, sizeof(in));
        fb_push(&env.fb, 0, &raw);
        cr_assert(fb_wait_response(&env.fb, 0, &rsp));
        cr_assert_eq(rsp.id, 20 + round);
        cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
        if (round == 0)
            mapped = fake_gnttab_nr_mapped(env.fp);
        cr_assert_eq(fake_gnttab_nr_mapped(env.fp), mapped, "nothing mapped again");
    }
    char b;
    env_image_read(&env, 256 * 512 + 11 * 4096, &b, 1);
    cr_assert_eq(b, 'q');
    struct blkif_request rd = {
        .operation = BLKIF_OP_READ, .nr_segments = 1, .id = 30, .sector_number = 256};
    rd.seg[0] = (struct blkif_request_segment){ind_ref, 0, 7};
    fb_push(&env.fb, 0, &rd);
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    cr_assert_eq(((char *)fake_page(env.fp, ind))[100], 'q', "read into the former indirect page");
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), mapped, "the read-only map replaced, not added");
    env_teardown(&env);
}
