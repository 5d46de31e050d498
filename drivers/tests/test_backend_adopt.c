/* A backend process that restarts (xl devd's worker after a crash) adopts the devices its
 * predecessor had connected and serves their rings again; a backend limited to one frontend
 * domain never touches another domain's devices. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blk_env.h"

static struct blk_env env;

static bool be_connected_and_mapped(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateConnected && fake_gnttab_nr_mapped(fb->fp) == 1;
}

/* The old instance dies (its mappings go with it, xenstore keeps state 4); a new one starts. */
static void restart_backend(void)
{
    blkback_free(env.bb);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    env.bb = blkback_new(fake_platform_base(env.fp), NULL, NULL, NULL);
    cr_assert_not_null(env.bb);
    env.fb.bb = env.bb;
    cr_assert_eq(blkback_start(env.bb), 0);
}

Test(backend_adopt, a_restarted_backend_maps_the_connected_ring_again_and_serves_it)
{
    static char out[4096], in[4096];
    memset(out, 0x5a, sizeof(out));
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_WRITE, 8, 1, out), BLKIF_RSP_OKAY);
    restart_backend();
    cr_assert(fb_pump(&env.fb, be_connected_and_mapped), "the device was not adopted");
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_READ, 8, 1, in), BLKIF_RSP_OKAY);
    cr_assert_eq(memcmp(out, in, sizeof(in)), 0);
    env_teardown(&env);
}

Test(backend_adopt, a_request_queued_while_no_backend_ran_is_answered_after_the_restart)
{
    static char out[4096];
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_WRITE, 0, 1, out), BLKIF_RSP_OKAY);
    blkback_free(env.bb);
    struct blkif_request req = {.operation = BLKIF_OP_FLUSH_DISKCACHE, .id = 77};
    fb_push(&env.fb, 0, &req);
    env.bb = blkback_new(fake_platform_base(env.fp), NULL, NULL, NULL);
    env.fb.bb = env.bb;
    cr_assert_eq(blkback_start(env.bb), 0);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp), "the queued request was lost");
    cr_assert_eq(rsp.id, 77);
    cr_assert_eq(rsp.status, BLKIF_RSP_OKAY);
    env_teardown(&env);
}

Test(backend_adopt, an_offline_device_in_state_connected_is_not_adopted)
{
    struct fake_platform *fp = fake_platform_new(0);
    fb_toolstack_add(fp, 7, 51712, "/nonexistent", "w");
    fake_xs_write(fp, "/local/domain/0/backend/vbd/7/51712/online", "0");
    fake_xs_write(fp, "/local/domain/0/backend/vbd/7/51712/state", "4");
    struct blkback *bb = blkback_new(fake_platform_base(fp), NULL, NULL, NULL);
    cr_assert_eq(blkback_start(bb), 0);
    blkback_poll(bb);
    cr_assert_null(xenbus_backend_find(blkback_xenbus(bb), 7, 51712));
    blkback_free(bb);
    xenbus_platform_destroy(fake_platform_base(fp));
}

Test(backend_adopt, a_backend_limited_to_one_frontend_ignores_the_others)
{
    struct fake_platform *fp = fake_platform_new(0);
    fb_toolstack_add(fp, 7, 51712, "/nonexistent", "w");
    fb_toolstack_add(fp, 8, 51712, "/nonexistent", "w");
    struct blkback *bb = blkback_new(fake_platform_base(fp), NULL, NULL, NULL);
    cr_assert_eq(xenbus_backend_limit_frontend(blkback_xenbus(bb), 8), 0);
    cr_assert_eq(blkback_start(bb), 0);
    blkback_poll(bb);
    cr_assert_eq(xenbus_backend_nr_devices(blkback_xenbus(bb)), 1);
    cr_assert_not_null(xenbus_backend_find(blkback_xenbus(bb), 8, 51712));
    char st[8];
    cr_assert_geq(fake_xs_read(fp, "/local/domain/0/backend/vbd/7/51712/state", st, 8), 0);
    cr_assert_str_eq(st, "1", "domain 7's device is left to its own backend");
    fb_toolstack_add(fp, 7, 51728, "/nonexistent", "w");
    blkback_poll(bb);
    cr_assert_eq(xenbus_backend_nr_devices(blkback_xenbus(bb)), 1);
    cr_assert_eq(xenbus_backend_limit_frontend(blkback_xenbus(bb), 7), -EINVAL,
                 "the limit is fixed once started");
    blkback_free(bb);
    xenbus_platform_destroy(fake_platform_base(fp));
}
