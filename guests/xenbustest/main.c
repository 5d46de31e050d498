/* xenbustest: the runtime's xenbus client against a real xenstored, as TAP lines and a RESULT
 * line on the hypervisor console, then poweroff. Boot it with `xl create` (the toolstack gives
 * it a store ring and its /local/domain/<id> home). Covers read/write, mkdir/directory, rm,
 * transactions (commit and conflict), watches (poll and callback), unwatch, and permission and
 * error replies. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/sched.h>

#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#define MS 1000000ULL

/* Watch events carry the absolute path: does it end with the relative one? */
static bool strstr_end(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    return a >= b && !strcmp(path + a - b, suffix);
}

static void test_read_write(void)
{
    char buf[64];
    tap_rc(xenbus_write(XBT_NIL, "data/t/a", "alpha"), 0, "write data/t/a");
    int n = xenbus_read(XBT_NIL, "data/t/a", buf, sizeof(buf));
    tap_check(n == 5 && !strcmp(buf, "alpha"), "read data/t/a gives what was written (%d)", n);
    tap_rc(xenbus_write(XBT_NIL, "data/t/a", ""), 0, "write an empty value");
    n = xenbus_read(XBT_NIL, "data/t/a", buf, sizeof(buf));
    tap_check(n == 0 && buf[0] == 0, "read of an empty value gives \"\" (%d)", n);
    tap_rc(xenbus_read(XBT_NIL, "data/t/missing", buf, sizeof(buf)), -XEN_ENOENT,
           "read of a missing key -> ENOENT");
    xenbus_write(XBT_NIL, "data/t/long", "0123456789abcdef");
    tap_rc(xenbus_read(XBT_NIL, "data/t/long", buf, 8), -XEN_E2BIG,
           "read into a too small buffer -> E2BIG");
    char name[16];
    n = xenbus_read(XBT_NIL, "name", name, sizeof(name));
    tap_check(n > 0, "read my own name (\"%s\")", n > 0 ? name : "");
}

static void test_directories(void)
{
    tap_rc(xenbus_mkdir(XBT_NIL, "data/t/dir"), 0, "mkdir data/t/dir");
    xenbus_write(XBT_NIL, "data/t/dir/x", "1");
    xenbus_write(XBT_NIL, "data/t/dir/y", "2");
    char buf[256];
    int n = xenbus_directory(XBT_NIL, "data/t/dir", buf, sizeof(buf));
    bool x = false, y = false;
    for (int i = 0, off = 0; n > 0 && i < n; i++) {
        x |= !strcmp(buf + off, "x");
        y |= !strcmp(buf + off, "y");
        off += (int)strlen(buf + off) + 1;
    }
    tap_check(n == 2 && x && y, "directory lists the two children (%d)", n);
    tap_rc(xenbus_rm(XBT_NIL, "data/t/dir"), 0, "rm removes a subtree");
    tap_rc(xenbus_read(XBT_NIL, "data/t/dir/x", buf, sizeof(buf)), -XEN_ENOENT,
           "a removed child reads as ENOENT");
    tap_rc(xenbus_directory(XBT_NIL, "data/t/dir", buf, sizeof(buf)), -XEN_ENOENT,
           "directory of a removed node -> ENOENT");
}

static void test_transactions(void)
{
    char buf[32];
    xenbus_transaction_t t;
    tap_rc(xenbus_transaction_start(&t), 0, "transaction start");
    tap_rc(xenbus_write(t, "data/t/tx", "inside"), 0, "write inside the transaction");
    tap_rc(xenbus_read(XBT_NIL, "data/t/tx", buf, sizeof(buf)), -XEN_ENOENT,
           "the write is invisible outside before commit");
    tap_rc(xenbus_transaction_end(t, 0), 0, "transaction commit");
    int n = xenbus_read(XBT_NIL, "data/t/tx", buf, sizeof(buf));
    tap_check(n == 6 && !strcmp(buf, "inside"), "the committed value is visible");

    tap_rc(xenbus_transaction_start(&t), 0, "second transaction start");
    xenbus_write(t, "data/t/tx", "aborted");
    tap_rc(xenbus_transaction_end(t, 1), 0, "transaction abort");
    n = xenbus_read(XBT_NIL, "data/t/tx", buf, sizeof(buf));
    tap_check(n == 6 && !strcmp(buf, "inside"), "an aborted write leaves the old value");

    xenbus_transaction_t t1, t2;
    xenbus_transaction_start(&t1);
    xenbus_transaction_start(&t2);
    xenbus_read(t1, "data/t/tx", buf, sizeof(buf));
    xenbus_read(t2, "data/t/tx", buf, sizeof(buf));
    xenbus_write(t1, "data/t/tx", "one");
    xenbus_write(t2, "data/t/tx", "two");
    tap_rc(xenbus_transaction_end(t1, 0), 0, "first of two conflicting transactions commits");
    tap_rc(xenbus_transaction_end(t2, 0), -XEN_EAGAIN, "the second one gets EAGAIN");
    n = xenbus_read(XBT_NIL, "data/t/tx", buf, sizeof(buf));
    tap_check(n == 3 && !strcmp(buf, "one"), "the winner's value stays (\"%s\")", buf);
}

static int cb_hits;
static char cb_path[128];
static void on_watch(const char *path, const char *token, void *ctx)
{
    (void)token;
    (void)ctx;
    cb_hits++;
    strlcpy(cb_path, path, sizeof(cb_path));
}

static void test_watches(void)
{
    char path[128], token[32];
    xenbus_write(XBT_NIL, "data/t/w", "0");
    tap_rc(xenbus_watch("data/t/w", "tw", 0, 0), 0, "watch data/t/w");
    int rc =
        xenbus_read_watch(path, sizeof(path), token, sizeof(token), monotonic_ns() + 5000 * MS);
    tap_check(rc == 0 && !strcmp(token, "tw"), "the initial watch event arrives (rc %d)", rc);
    xenbus_write(XBT_NIL, "data/t/w", "1");
    rc = xenbus_read_watch(path, sizeof(path), token, sizeof(token), monotonic_ns() + 5000 * MS);
    tap_check(rc == 0 && !strcmp(token, "tw") && strstr_end(path, "data/t/w"),
              "a write fires the watch (rc %d, path %s)", rc, rc == 0 ? path : "");
    tap_rc(xenbus_unwatch("data/t/w", "tw"), 0, "unwatch");
    xenbus_write(XBT_NIL, "data/t/w", "2");
    rc = xenbus_read_watch(path, sizeof(path), token, sizeof(token), monotonic_ns() + 300 * MS);
    tap_rc(rc, -XEN_ETIMEDOUT, "no event after unwatch");

    tap_rc(xenbus_watch("data/t/cb", "tcb", on_watch, 0), 0, "watch with a callback");
    xenbus_write(XBT_NIL, "data/t/cb/child", "x");
    uint64_t until = monotonic_ns() + 5000 * MS;
    while (cb_hits < 2 && monotonic_ns() < until) {
        xenbus_dispatch_watches();
        if (cb_hits < 2)
            sleep_ns(5 * MS);
    }
    tap_check(cb_hits >= 2 && strstr_end(cb_path, "data/t/cb/child"),
              "callback runs for the initial event and a child write (%d, %s)", cb_hits, cb_path);
    xenbus_unwatch("data/t/cb", "tcb");
}

static void test_permissions(void)
{
    char buf[64];
    tap_rc(xenbus_read(XBT_NIL, "/local/domain/0/name", buf, sizeof(buf)), -XEN_EACCES,
           "dom0's tree is not readable -> EACCES");
    tap_rc(xenbus_write(XBT_NIL, "/local/domain/0/kxen-test", "x"), -XEN_EACCES,
           "dom0's tree is not writable -> EACCES");
    tap_rc(xenbus_write(XBT_NIL, "/kxen-test-root", "x"), -XEN_EACCES,
           "the root is not writable -> EACCES");
    tap_rc(xenbus_read(XBT_NIL, "data/bad//path", buf, sizeof(buf)), -XEN_EINVAL,
           "a path with an empty component -> EINVAL");
}

int main(void)
{
    hv_printf("kxen xenbustest guest: entered through %s\n", boot_info.accel_path);
    if (!boot_info.store_pfn) {
        tap_check(false, "the guest has a xenstore ring (boot it with xl create)");
        tap_finish();
        guest_shutdown(SHUTDOWN_poweroff);
    }
    test_read_write();
    test_directories();
    test_transactions();
    test_watches();
    test_permissions();
    xenbus_rm(XBT_NIL, "data/t");
    tap_finish();
    guest_shutdown(SHUTDOWN_poweroff);
}
