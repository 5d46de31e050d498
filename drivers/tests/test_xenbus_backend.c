/* The xenbus backend core with a minimal device type over the fake platform: the state
 * machine, the key helpers, strict parsing, transactions retried on conflict, and failures
 * reported once with `error` written. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../xenbus/backend.h"
#include "fake_platform.h"

#define BE "/local/domain/0/backend/dummy/3/7"
#define FE "/local/domain/3/device/dummy/7"

static struct {
    int probes, connects, disconnects, removes;
    int connect_rc;
    unsigned int logs;
    char log[1024];
} seen;

static int d_probe(struct xenbus_device *dev)
{
    seen.probes++;
    const struct xenbus_kv kv[] = {{"feature-a", "1"}, {"feature-b", "22"}, {"sub/key", "x"}};
    return xenbus_write_features(dev, kv, 3);
}
static int d_connect(struct xenbus_device *dev)
{
    (void)dev;
    seen.connects++;
    return seen.connect_rc;
}
static void d_disconnect(struct xenbus_device *dev)
{
    (void)dev;
    seen.disconnects++;
}
static void d_remove(struct xenbus_device *dev)
{
    (void)dev;
    seen.removes++;
}
static const struct xenbus_backend_ops dummy_ops = {"dummy",      d_probe,  d_connect,
                                                    d_disconnect, d_remove, NULL};
static void d_log(void *ctx, const char *msg)
{
    (void)ctx;
    seen.logs++;
    strncat(seen.log, msg, sizeof(seen.log) - strlen(seen.log) - 2);
    strcat(seen.log, "\n");
}

static struct fake_platform *fp;
static struct xenbus_backend *be;

static void add_device(void)
{
    fake_xs_write(fp, FE "/state", "1");
    fake_xs_write(fp, BE "/frontend-id", "3");
    fake_xs_write(fp, BE "/online", "1");
    fake_xs_write(fp, BE "/state", "1");
    fake_xs_write(fp, BE "/frontend", FE);
}

static const char *key(const char *path)
{
    static char buf[256];
    if (fake_xs_read(fp, path, buf, sizeof(buf)) < 0)
        strcpy(buf, "<none>");
    return buf;
}

static void setup(void)
{
    memset(&seen, 0, sizeof(seen));
    fp = fake_platform_new(0);
    be = xenbus_backend_new(fake_platform_base(fp), &dummy_ops, d_log, NULL);
    cr_assert_not_null(be);
    cr_assert_eq(xenbus_backend_start(be), 0);
}

static void teardown(void)
{
    xenbus_backend_free(be);
    xenbus_platform_destroy(fake_platform_base(fp));
}

TestSuite(xenbus_backend, .init = setup, .fini = teardown);

Test(xenbus_backend, strict_parsing_accepts_plain_decimals_only)
{
    uint64_t v;
    cr_assert_eq(xenbus_parse_uint("0", 10, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(xenbus_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    const char *bad[] = {"",
                         " 1",
                         "1 ",
                         "+1",
                         "-1",
                         "01",
                         "0x10",
                         "12abc",
                         "1.0",
                         "18446744073709551616",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(xenbus_parse_uint(bad[i], UINT64_MAX, &v), -EINVAL, "'%s'", bad[i]);
    cr_assert_eq(xenbus_parse_uint("11", 10, &v), -EINVAL, "above max");
}

Test(xenbus_backend, probe_writes_the_features_then_switches_to_initwait)
{
    add_device();
    xenbus_backend_poll(be);
    cr_assert_eq(seen.probes, 1);
    cr_assert_str_eq(key(BE "/feature-a"), "1");
    cr_assert_str_eq(key(BE "/feature-b"), "22");
    cr_assert_str_eq(key(BE "/sub/key"), "x");
    cr_assert_str_eq(key(BE "/state"), "2");
}

Test(xenbus_backend, features_are_written_again_when_the_transaction_conflicts)
{
    fake_xs_fail_commits(fp, 3);
    add_device();
    xenbus_backend_poll(be);
    cr_assert_str_eq(key(BE "/feature-b"), "22");
    cr_assert_str_eq(key(BE "/state"), "2");
}

Test(xenbus_backend, frontend_initialised_connects_once_and_connected_is_published)
{
    add_device();
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "3");
    fake_xs_write(fp, FE "/state", "4"); /* both seen after the fact: one connect */
    xenbus_backend_poll(be);
    cr_assert_eq(seen.connects, 1);
    cr_assert_str_eq(key(BE "/state"), "4");
}

Test(xenbus_backend, a_failing_connect_closes_the_device_with_error_logged_once)
{
    seen.connect_rc = -ENOMEM;
    add_device();
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "3");
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "3");
    xenbus_backend_poll(be);
    cr_assert_str_eq(key(BE "/state"), "6");
    cr_assert_neq(strstr(key(BE "/error"), "connecting"), NULL, "%s", key(BE "/error"));
    cr_assert_eq(seen.logs, 1, "%s", seen.log);
    cr_assert_neq(strstr(seen.log, "dummy-3-7: "), NULL);
    cr_assert_eq(seen.disconnects, 0, "never connected, never disconnected");
}

Test(xenbus_backend, garbage_in_the_frontend_state_closes_the_device)
{
    add_device();
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "4junk");
    xenbus_backend_poll(be);
    cr_assert_str_eq(key(BE "/state"), "6");
    cr_assert_eq(seen.connects, 0);
}

Test(xenbus_backend, frontend_closed_while_offline_removes_the_device)
{
    add_device();
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "3");
    xenbus_backend_poll(be);
    fake_xs_write(fp, BE "/online", "0");
    fake_xs_write(fp, FE "/state", "6");
    xenbus_backend_poll(be);
    cr_assert_eq(seen.disconnects, 1);
    cr_assert_eq(seen.removes, 1);
    cr_assert_eq(xenbus_backend_nr_devices(be), 0);
    cr_assert_str_eq(key(BE "/state"), "6");
    /* Late events about the closed directory do not bring the device back. */
    fake_xs_write(fp, BE "/state", "6");
    fake_xs_write(fp, FE "/state", "1");
    xenbus_backend_poll(be);
    cr_assert_eq(xenbus_backend_nr_devices(be), 0);
    cr_assert_eq(seen.probes, 1);
}

Test(xenbus_backend, forced_removal_with_state_closed_tears_down_at_once)
{
    add_device();
    xenbus_backend_poll(be);
    fake_xs_write(fp, FE "/state", "3");
    xenbus_backend_poll(be);
    fake_xs_write(fp, BE "/online", "0");
    fake_xs_write(fp, BE "/state", "6");
    xenbus_backend_poll(be);
    cr_assert_eq(seen.removes, 1);
    cr_assert_eq(seen.disconnects, 1);
}

Test(xenbus_backend, ids_that_are_not_plain_numbers_are_ignored)
{
    fake_xs_write(fp, "/local/domain/0/backend/dummy/03/7/frontend", FE);
    fake_xs_write(fp, "/local/domain/0/backend/dummy/3/x7/frontend", FE);
    fake_xs_write(fp, "/local/domain/0/backend/dummy/40000/7/frontend", FE);
    xenbus_backend_poll(be);
    cr_assert_eq(xenbus_backend_nr_devices(be), 0);
}

Test(xenbus_backend, key_helpers_refuse_keys_that_escape_the_device_directory)
{
    add_device();
    xenbus_backend_poll(be);
    struct xenbus_device *dev = xenbus_backend_find(be, 3, 7);
    cr_assert_not_null(dev);
    char buf[16];
    cr_assert_eq(xenbus_read_key(dev, XENBUS_FRONTEND, "../../x", buf, sizeof(buf)), -EINVAL);
    cr_assert_eq(xenbus_read_key(dev, XENBUS_BACKEND, "/state", buf, sizeof(buf)), -EINVAL);
    cr_assert_eq(xenbus_printf(dev, 0, XENBUS_BACKEND, "a//b", "1"), -EINVAL);
    fake_xs_write(fp, FE "/long", "0123456789abcdef0123456789");
    cr_assert_eq(xenbus_read_key(dev, XENBUS_FRONTEND, "long", buf, sizeof(buf)), -EOVERFLOW);
    uint64_t v;
    cr_assert_eq(xenbus_scan_uint(dev, XENBUS_FRONTEND, "long", UINT64_MAX, &v), -EINVAL);
    cr_assert_eq(xenbus_scan_uint_default(dev, XENBUS_FRONTEND, "absent", 9, 5, &v), 0);
    cr_assert_eq(v, 5);
    const struct xenbus_gather_uint g[] = {{"state", 8, &v, false}, {"nope", 1, &v, false}};
    cr_assert_eq(xenbus_gather(dev, XENBUS_FRONTEND, g, 2), -ENOENT);
}

Test(xenbus_backend, a_frontend_reconnecting_in_a_loop_is_refused_and_other_devices_are_not)
{
    add_device();
    fake_xs_write(fp, "/local/domain/3/device/dummy/8/state", "1");
    fake_xs_write(fp, "/local/domain/0/backend/dummy/3/8/frontend-id", "3");
    fake_xs_write(fp, "/local/domain/0/backend/dummy/3/8/online", "1");
    fake_xs_write(fp, "/local/domain/0/backend/dummy/3/8/state", "1");
    fake_xs_write(fp, "/local/domain/0/backend/dummy/3/8/frontend",
                  "/local/domain/3/device/dummy/8");
    xenbus_backend_poll(be);
    for (int round = 1; round <= 10; round++) {
        fake_xs_write(fp, FE "/state", "6");
        xenbus_backend_poll(be);
        cr_assert_str_eq(key(BE "/state"), "6");
        fake_xs_write(fp, FE "/state", "1");
        xenbus_backend_poll(be);
        /* A few reconnects are a restart or a resume; past eight in a minute, a loop. */
        cr_assert_str_eq(key(BE "/state"), round <= 8 ? "2" : "6", "round %d", round);
    }
    cr_assert_neq(strstr(key(BE "/error"), "reconnected more than 8 times"), NULL, "%s",
                  key(BE "/error"));
    cr_assert_eq(seen.logs, 1, "%s", seen.log);
    fake_xs_write(fp, "/local/domain/3/device/dummy/8/state", "3");
    xenbus_backend_poll(be);
    cr_assert_str_eq(key("/local/domain/0/backend/dummy/3/8/state"), "4");
    cr_assert_eq(seen.connects, 1);
}
