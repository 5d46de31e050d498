/* blkback's handshake with a fake Linux 6.1 blkfront: the keys of each side, every state on
 * the way to Connected, and the way back (detach, reconnect). */
#include <criterion/criterion.h>
#include <string.h>

#include "blk_env.h"

static struct blk_env env;

static bool be_initwait(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateInitWait;
}
static bool be_closed(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateClosed;
}
static bool be_closing(struct fake_blkfront *fb)
{
    return fb_backend_state(fb) == XenbusStateClosing;
}
static bool device_gone(struct fake_blkfront *fb)
{
    return xenbus_backend_nr_devices(blkback_xenbus(fb->bb)) == 0;
}

Test(blkback_handshake, probe_advertises_linux_defaults_and_waits_in_initwait)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_pump(&env.fb, be_initwait));
    cr_assert_str_eq(env_be_key(&env, "feature-max-indirect-segments"), "256");
    cr_assert_str_eq(env_be_key(&env, "multi-queue-max-queues"), "4");
    cr_assert_str_eq(env_be_key(&env, "max-ring-page-order"), "4");
    cr_assert_str_eq(env_be_key(&env, "sectors"), "", "sectors come at connect");
    env_teardown(&env);
}

Test(blkback_handshake, single_page_ring_reaches_connected_with_every_feature_key)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    cr_assert_str_eq(env_be_key(&env, "sectors"), "8192");
    cr_assert_str_eq(env_be_key(&env, "info"), "0");
    cr_assert_str_eq(env_be_key(&env, "sector-size"), "512");
    cr_assert_str_eq(env_be_key(&env, "physical-sector-size"), "4096");
    cr_assert_str_eq(env_be_key(&env, "feature-flush-cache"), "1");
    cr_assert_str_eq(env_be_key(&env, "feature-discard"), "1");
    cr_assert_str_eq(env_be_key(&env, "discard-granularity"), "4096");
    cr_assert_str_eq(env_be_key(&env, "discard-alignment"), "0");
    cr_assert_str_eq(env_be_key(&env, "discard-secure"), "0");
    cr_assert_str_eq(env_be_key(&env, "feature-persistent"), "0");
    cr_assert_str_eq(env_be_key(&env, "error"), "");
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 1, "one ring page mapped");
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 1);
    env_teardown(&env);
}

Test(blkback_handshake, order_2_ring_with_two_queues_maps_eight_pages_and_binds_two_ports)
{
    env_setup(&env, NULL, "w", 2, 2, true);
    cr_assert(fb_connect(&env.fb));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 8);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 2);
    cr_assert_str_eq(env_be_key(&env, "feature-persistent"), "1");
    /* I/O works on both queues of the multi-page rings. */
    static char buf[4096];
    memset(buf, 0x5a, sizeof(buf));
    cr_assert_eq(fb_rw(&env.fb, 1, BLKIF_OP_WRITE, 16, 1, buf), BLKIF_RSP_OKAY);
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(fb_rw(&env.fb, 0, BLKIF_OP_READ, 16, 1, buf), BLKIF_RSP_OKAY);
    cr_assert_eq(buf[100], 0x5a);
    env_teardown(&env);
}

Test(blkback_handshake, read_only_disk_is_published_with_info_readonly_and_no_discard)
{
    env_setup(&env, NULL, "r", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    cr_assert_str_eq(env_be_key(&env, "info"), "4");
    cr_assert_str_eq(env_be_key(&env, "feature-discard"), "0");
    env_teardown(&env);
}

Test(blkback_handshake, toolstack_detach_closes_then_removes_the_device)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    fb_toolstack_remove(env.fp, FB_DOMID, FB_DEVID);
    blkback_poll(env.bb);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0, "disconnected at Closing");
    /* The frontend follows: Closing, then Closed; the backend then goes away. */
    fb_set_state(&env.fb, XenbusStateClosing);
    cr_assert(fb_pump(&env.fb, be_closing));
    fb_set_state(&env.fb, XenbusStateClosed);
    cr_assert(fb_pump(&env.fb, device_gone));
    cr_assert_eq(fb_backend_state(&env.fb), XenbusStateClosed);
    cr_assert_eq(fake_evtchn_nr_bound(env.fp), 0);
    env_teardown(&env);
}

Test(blkback_handshake, frontend_reinitialising_after_closed_reconnects)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    fb_set_state(&env.fb, XenbusStateClosing);
    cr_assert(fb_pump(&env.fb, be_closing));
    fb_set_state(&env.fb, XenbusStateClosed);
    cr_assert(fb_pump(&env.fb, be_closed));
    cr_assert_eq(xenbus_backend_nr_devices(blkback_xenbus(env.bb)), 1, "still online");
    fb_set_state(&env.fb, XenbusStateInitialising);
    cr_assert(fb_pump(&env.fb, be_initwait));
    /* A second talk_to_blkback with fresh rings. */
    fb_init(&env.fb, env.fp, env.bb, 1, 1, false);
    cr_assert(fb_connect(&env.fb));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 2);
    env_teardown(&env);
}

Test(blkback_handshake, backend_directory_removed_tears_the_device_down)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&env.fb));
    fake_xs_rm(env.fp, "/local/domain/0/backend/vbd/5");
    cr_assert(fb_pump(&env.fb, device_gone));
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    cr_assert_eq(fake_xs_nr_watches(env.fp), 1, "only the type watch is left");
    cr_assert_eq(fb_backend_state(&env.fb), -1, "the directory is not recreated");
    env_teardown(&env);
}

Test(blkback_handshake, a_device_already_in_xenstore_at_start_is_probed)
{
    struct fake_platform *fp = fake_platform_new(0);
    fb_toolstack_add(fp, 7, 51728, "/nonexistent", "w");
    struct blkback *bb = blkback_new(fake_platform_base(fp), NULL, NULL, NULL);
    cr_assert_eq(blkback_start(bb), 0);
    blkback_poll(bb);
    cr_assert_not_null(xenbus_backend_find(blkback_xenbus(bb), 7, 51728));
    char st[8];
    cr_assert_geq(fake_xs_read(fp, "/local/domain/0/backend/vbd/7/51728/state", st, 8), 0);
    cr_assert_str_eq(st, "2");
    blkback_free(bb);
    xenbus_platform_destroy(fake_platform_base(fp));
}

Test(blkback_handshake, discard_enable_0_hides_discard_and_discards_are_then_unsupported)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    fake_xs_write(env.fp, "/local/domain/0/backend/vbd/5/51712/discard-enable", "0");
    cr_assert(fb_connect(&env.fb));
    cr_assert_str_eq(env_be_key(&env, "feature-discard"), "0");
    cr_assert_str_eq(env_be_key(&env, "discard-granularity"), "");
    struct blkif_request_discard d = {.operation = BLKIF_OP_DISCARD, .id = 8, .nr_sectors = 8};
    struct blkif_request raw;
    memset(&raw, 0, sizeof(raw));
    memcpy(&raw, &d, sizeof(d));
    fb_push(&env.fb, 0, &raw);
    struct blkif_response rsp;
    cr_assert(fb_wait_response(&env.fb, 0, &rsp));
    cr_assert_eq(rsp.status, BLKIF_RSP_EOPNOTSUPP);
    env_teardown(&env);
}

Test(blkback_handshake, a_cdrom_device_type_sets_the_cdrom_info_bit)
{
    env_setup(&env, NULL, "r", 0, 1, false);
    fake_xs_write(env.fp, "/local/domain/0/backend/vbd/5/51712/device-type", "cdrom");
    cr_assert(fb_connect(&env.fb));
    cr_assert_str_eq(env_be_key(&env, "info"), "5");
    env_teardown(&env);
}

Test(blkback_handshake, an_image_that_cannot_be_opened_closes_the_device_with_error)
{
    env_setup(&env, NULL, "w", 0, 1, false);
    fake_xs_write(env.fp, "/local/domain/0/backend/vbd/5/51712/params", "/nonexistent/disk.img");
    cr_assert(fb_pump(&env.fb, be_initwait));
    fb_talk(&env.fb);
    cr_assert(fb_pump(&env.fb, be_closed));
    cr_assert_neq(strstr(env_be_key(&env, "error"), "opening the image"), NULL);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    env_teardown(&env);
}
