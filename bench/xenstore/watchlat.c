/* Watch-fire latency of several daemons measured side by side: blocks of round trips (write on
 * one connection, wait for the event on another) alternate between the daemons, so a moment
 * when another process holds the CPU hits them all alike instead of one daemon's whole run.
 * Each argument is a directory holding a daemon's "socket" (used as XENSTORED_RUNDIR). Prints
 * per daemon: "<index> median <us> p90 <us> p99 <us>". Linked against Debian's libxenstore. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>

#define WL_MAX_DAEMONS 8
#define WL_BLOCKS 10
#define WL_BLOCK 300

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, const char *dir)
{
    fprintf(stderr, "watchlat: %s failed for %s: %s\n", what, dir, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    int nd = argc - 1;
    if (nd < 1 || nd > WL_MAX_DAEMONS) {
        fprintf(stderr, "usage: %s RUNDIR... (1 to %d daemons)\n", argv[0], WL_MAX_DAEMONS);
        return 2;
    }
    struct xs_handle *watcher[WL_MAX_DAEMONS], *writer[WL_MAX_DAEMONS];
    static long long lat[WL_MAX_DAEMONS][WL_BLOCKS * WL_BLOCK];
    unsigned int num; /* Xen's xs_read_watch requires it */
    for (int i = 0; i < nd; i++) {
        setenv("XENSTORED_RUNDIR", argv[i + 1], 1);
        watcher[i] = xs_open(0);
        writer[i] = xs_open(0);
        if (!watcher[i] || !writer[i])
            die("xs_open", argv[i + 1]);
        if (!xs_watch(watcher[i], "/watchlat", "t"))
            die("xs_watch", argv[i + 1]);
        free(xs_read_watch(watcher[i], &num)); /* the registration event */
    }
    for (int b = 0; b < WL_BLOCKS; b++) {
        for (int i = 0; i < nd; i++) {
            for (int k = 0; k < WL_BLOCK; k++) {
                long long t = now_ns();
                if (!xs_write(writer[i], XBT_NULL, "/watchlat/x", "1", 1))
                    die("xs_write", argv[i + 1]);
                char **ev = xs_read_watch(watcher[i], &num);
                if (!ev)
                    die("xs_read_watch", argv[i + 1]);
                lat[i][b * WL_BLOCK + k] = now_ns() - t;
                free(ev);
            }
        }
    }
    for (int i = 0; i < nd; i++) {
        long long *l = lat[i];
        size_t n = WL_BLOCKS * WL_BLOCK;
        qsort(l, n, sizeof(l[0]), cmp_ll);
        printf("%d median %.1f p90 %.1f p99 %.1f\n", i, (double)l[n / 2] / 1e3,
               (double)l[n * 9 / 10] / 1e3, (double)l[n * 99 / 100] / 1e3);
        xs_rm(writer[i], XBT_NULL, "/watchlat");
        xs_close(writer[i]);
        xs_close(watcher[i]);
    }
    return 0;
}
