/* xsprobe: a test guest for xl's xenstore permissions. Command line "peer=<domid>": it reads
 * its own tree (must work) and tries to read, list and write the peer's tree (must be refused,
 * because xl gives /local/domain/N only to dom0 and domain N). TAP lines and a final
 * "RESULT PASS|FAIL" on the console, then it powers off. */
#include <stdint.h>

#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/xenbus.h"

static int nr_test, failed;

static void check(int cond, const char *what, int rc)
{
    nr_test++;
    if (cond) {
        hv_printf("ok %d - %s\n", nr_test, what);
    } else {
        failed = 1;
        hv_printf("not ok %d - %s (rc %d)\n", nr_test, what, rc);
    }
}

/* The peer id from "peer=<digits>" in the command line, or -1. */
static int peer_from_cmdline(const char *s)
{
    const char *p = s;
    while (*p && strncmp(p, "peer=", 5) != 0)
        p++;
    if (!*p)
        return -1;
    p += 5;
    int v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < 5) {
        v = v * 10 + (*p++ - '0');
        n++;
    }
    return n ? v : -1;
}

static void fmt_path(char *out, size_t len, int peer, const char *rest)
{
    /* "/local/domain/" + peer + rest, without snprintf in the runtime */
    const char *pre = "/local/domain/";
    size_t n = 0;
    char digits[8];
    int d = 0;
    while (*pre && n + 1 < len)
        out[n++] = *pre++;
    do {
        digits[d++] = (char)('0' + peer % 10);
        peer /= 10;
    } while (peer && d < 7);
    while (d && n + 1 < len)
        out[n++] = digits[--d];
    while (*rest && n + 1 < len)
        out[n++] = *rest++;
    out[n] = '\0';
}

int main(void)
{
    char buf[256], path[96];
    int peer = peer_from_cmdline(boot_info.cmdline);
    if (peer < 0) {
        hv_printf("xsprobe: no peer=<domid> on the command line\nRESULT FAIL\n");
        return 1;
    }
    int rc = xenbus_read(XBT_NIL, "name", buf, sizeof(buf));
    check(rc >= 0, "own name is readable", rc);
    rc = xenbus_write(XBT_NIL, "data/probe", "ran");
    check(rc >= 0, "own data/ is writable", rc);
    rc = xenbus_read(XBT_NIL, "name", buf, sizeof(buf));
    check(rc >= 0 && strcmp(buf, "xsprobe") == 0, "own name is xsprobe", rc);
    rc = xenbus_write(XBT_NIL, "name", "renamed");
    check(rc < 0, "own name is read-only", rc);

    fmt_path(path, sizeof(path), peer, "/name");
    rc = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    check(rc < 0, "peer's name is not readable", rc);
    fmt_path(path, sizeof(path), peer, "");
    rc = xenbus_directory(XBT_NIL, path, buf, sizeof(buf));
    check(rc < 0, "peer's directory is not listable", rc);
    fmt_path(path, sizeof(path), peer, "/data/hello");
    rc = xenbus_read(XBT_NIL, path, buf, sizeof(buf));
    check(rc < 0, "peer's data/hello is not readable", rc);
    fmt_path(path, sizeof(path), peer, "/data/intruder");
    rc = xenbus_write(XBT_NIL, path, "x");
    check(rc < 0, "peer's data/ is not writable", rc);
    fmt_path(path, sizeof(path), peer, "/control/shutdown");
    rc = xenbus_write(XBT_NIL, path, "poweroff");
    check(rc < 0, "peer's control/shutdown is not writable", rc);

    hv_printf("RESULT %s\n", failed ? "FAIL" : "PASS");
    return 0;
}
