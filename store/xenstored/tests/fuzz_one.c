#include "fuzz_one.h"

#include <stdio.h>
#include <string.h>

#include "harness.h"

static void drain(struct xs_conn *c)
{
    struct th_msg m;
    while (!c->closing && th_pop(c, &m))
        ;
}

unsigned long long xs_fuzz_requests;

int xs_fuzz_one(const uint8_t *data, size_t len)
{
    struct th t;
    th_init(&t);
    /* A domain with a home, as a toolstack would set up. */
    struct xs_conn *conns[2] = {th_conn(&t, 0), th_conn(&t, 5)};
    th_write(conns[0], 0, "/local/domain/5/name", "fuzz");
    struct th_msg m;
    th_call(conns[0], XS_SET_PERMS, 0, "/local/domain/5\0n5", 19, &m);
    drain(conns[0]);
    size_t i = 0;
    while (i + 3 <= len) {
        uint8_t who = data[i];
        size_t n = (size_t)data[i + 1] | (size_t)data[i + 2] << 8;
        i += 3;
        if (n > len - i)
            n = len - i;
        struct xs_conn *c = conns[who & 1];
        if (!c->closing) {
            if (who & 2)
                for (size_t k = 0; k < n && !c->closing; k++)
                    th_feed(c, data + i + k, 1);
            else
                th_feed(c, data + i, n);
            drain(c);
        }
        i += n;
    }
    /* Whatever happened, a fresh dom0 client is served correctly. */
    struct xs_conn *check = th_conn(&t, 0);
    int r = 0;
    char v[16];
    if (th_write(check, 0, "/fuzz-check", "alive") || th_read(check, 0, "/fuzz-check", v, 16) ||
        strcmp(v, "alive") != 0)
        r = -1;
    /* And its books still balance: links, counts, per-domain node accounting. */
    char msg[256];
    if (xs_daemon_check(&t.d, msg, sizeof(msg))) {
        fprintf(stderr, "store inconsistent after fuzz input: %s\n", msg);
        r = -1;
    }
    xs_fuzz_requests += t.d.stats_requests;
    th_fini(&t);
    return r;
}
