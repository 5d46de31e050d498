/* dom0libs-test bench and stress: the event-channel and grant-copy figures of bench/hypervisor
 * and the lost-wake-up stress of tests/system/evtchn_wakeup_stress.sh.
 * Figures are honest about a busy, small host: every round trip is timed on its own, runs of
 * the kxend path alternate with runs of the host reference (two threads ping-ponging over bare
 * eventfds), and both are reported as median and 99th percentile over all runs together with
 * the CPU affinity the process ran with (pinned or not). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xengnttab.h>

#include "dom0test.h"

#define RUNS 5

/* ---- statistics ---- */

struct stats {
    double median_us, p99_us;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static struct stats stats_of(uint64_t *ns, long n)
{
    struct stats s = {0, 0};
    if (n <= 0)
        return s;
    qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
    s.median_us = (double)ns[n / 2] / 1000;
    s.p99_us = (double)ns[(n * 99) / 100] / 1000;
    return s;
}

/* "pinned to CPU 0" or "not pinned (2 CPUs)": what the scheduler may use for this process. */
static void affinity_text(char *buf, size_t cap)
{
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof(set), &set) < 0) {
        snprintf(buf, cap, "affinity unknown");
        return;
    }
    int count = CPU_COUNT(&set), first = -1;
    for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
        if (CPU_ISSET(i, &set))
            first = i;
    if (count < online)
        snprintf(buf, cap, "pinned to %d of %ld CPUs (first: %d)", count, online, first);
    else
        snprintf(buf, cap, "not pinned, %ld CPUs", online);
}

/* ---- host reference: two threads over bare eventfds ---- */

static int ref_efd[2];

static void *ref_echo(void *arg)
{
    long n = (long)arg;
    uint64_t v;
    for (long i = 0; i < n; i++) {
        if (read(ref_efd[0], &v, 8) != 8)
            break;
        v = 1;
        if (write(ref_efd[1], &v, 8) != 8)
            break;
    }
    return NULL;
}

/* n round trips timed one by one into ns; returns how many completed. */
static long ref_pingpong(uint64_t *ns, long n)
{
    ref_efd[0] = eventfd(0, 0);
    ref_efd[1] = eventfd(0, 0);
    pthread_t t;
    if (ref_efd[0] < 0 || ref_efd[1] < 0 || pthread_create(&t, NULL, ref_echo, (void *)n))
        return 0;
    long done = 0;
    for (; done < n; done++) {
        uint64_t v = 1, t0 = now_ns();
        if (write(ref_efd[0], &v, 8) != 8 || read(ref_efd[1], &v, 8) != 8)
            break;
        ns[done] = now_ns() - t0;
    }
    if (done < n) /* unblock the echo thread */
        close(ref_efd[0]);
    pthread_join(t, NULL);
    if (done == n)
        close(ref_efd[0]);
    close(ref_efd[1]);
    return done;
}

/* ---- dom0 <-> guest over libxenevtchn ---- */

static long dom0_pingpong(xenevtchn_handle *xce, int lport, uint64_t *ns, long n)
{
    long done = 0;
    for (; done < n; done++) {
        uint64_t t0 = now_ns();
        xenevtchn_notify(xce, (evtchn_port_t)lport);
        if (wait_event(xce, 2000) != lport)
            break;
        ns[done] = now_ns() - t0;
    }
    return done;
}

static double dom0_rows(xenevtchn_handle *xce, int lport, long n)
{
    uint64_t *k = calloc((size_t)(n * RUNS), sizeof(*k));
    uint64_t *r = calloc((size_t)(n * RUNS), sizeof(*r));
    long kn = 0, rn = 0;
    bool lost = false;
    for (int run = 0; run < RUNS && k && r && !lost; run++) {
        rn += ref_pingpong(r + rn, n);
        long got = dom0_pingpong(xce, lport, k + kn, n);
        lost = got < n;
        kn += got;
    }
    struct stats ks = stats_of(k, kn), rs = stats_of(r, rn);
    char aff[96];
    affinity_text(aff, sizeof(aff));
    if (lost)
        printf("evtchn ping-pong dom0<->guest: FAILED, an echo did not come within 2 s after %ld "
               "round trips\n",
               kn);
    else
        printf("evtchn ping-pong dom0<->guest: median %.1f us, p99 %.1f us; reference: host "
               "thread<->thread eventfd median %.1f us, p99 %.1f us (%.1fx; %d alternating runs "
               "x %ld round trips, %s)\n",
               ks.median_us, ks.p99_us, rs.median_us, rs.p99_us,
               rs.median_us > 0 ? ks.median_us / rs.median_us : 0, RUNS, n, aff);
    free(k);
    free(r);
    return lost ? 0 : ks.median_us * 1000;
}

/* ---- grant copy: per-call overhead against per-byte cost ---- */

/* Seconds for `calls` calls of `batch` 4 KiB segments copied out of the granted page. */
static double copy_seconds(xengnttab_handle *xgt, const struct echo_info *e, int batch, int calls,
                           int *bad)
{
    static char bufs[64][4096];
    xengnttab_grant_copy_segment_t segs[64];
    for (int i = 0; i < batch; i++) {
        memset(&segs[i], 0, sizeof(segs[i]));
        segs[i].source.foreign.ref = e->ref;
        segs[i].source.foreign.domid = (uint16_t)e->domid;
        segs[i].dest.virt = bufs[i];
        segs[i].len = 4096;
        segs[i].flags = GNTCOPY_source_gref;
    }
    uint64_t t0 = now_ns();
    for (int c = 0; c < calls; c++) {
        if (xengnttab_grant_copy(xgt, (uint32_t)batch, segs) < 0) {
            *bad = -errno;
            return 0;
        }
        for (int i = 0; i < batch; i++)
            if (segs[i].status != GNTST_okay) {
                *bad = segs[i].status;
                return 0;
            }
    }
    return (double)(now_ns() - t0) / 1e9;
}

static double memcpy_seconds(int batch, int calls)
{
    static char src[64 * 4096], dst[64 * 4096];
    memset(src, 1, sizeof(src));
    uint64_t t0 = now_ns();
    for (int c = 0; c < calls; c++) {
        memcpy(dst, src, (size_t)batch * 4096);
        __asm__ volatile("" ::"r"(dst) : "memory");
    }
    return (double)(now_ns() - t0) / 1e9;
}

static int gnttab_rows(const struct echo_info *e)
{
    static const int batches[] = {1, 16, 64};
    const int segments = 6400; /* the same bytes for every batch size */
    double call_us[3] = {0};
    xengnttab_handle *xgt = xengnttab_open(NULL, 0);
    if (!xgt) {
        printf("grant copy: FAILED, no libxengnttab handle\n");
        return 1;
    }
    int failed = 0;
    for (int b = 0; b < 3 && !failed; b++) {
        int batch = batches[b], calls = segments / batch, bad = 0;
        copy_seconds(xgt, e, batch, calls / 10 + 1, &bad); /* warm-up */
        double s = bad ? 0 : copy_seconds(xgt, e, batch, calls, &bad);
        double m = memcpy_seconds(batch, calls), mb = (double)segments * 4096 / 1e6;
        if (bad || s <= 0) {
            printf("grant copy dom0<-guest, %2d x 4 KiB per call: FAILED (%d)\n", batch, bad);
            failed = 1;
            break;
        }
        call_us[b] = s * 1e6 / calls;
        printf("grant copy dom0<-guest, %2d x 4 KiB per call: %6.0f MB/s, %7.1f us/call; "
               "reference: host memcpy %6.0f MB/s\n",
               batch, mb / s, call_us[b], mb / m);
    }
    if (!failed) {
        double per_seg = (call_us[2] - call_us[0]) / 63;
        printf("grant copy cost model: %.1f us per call + %.2f us per 4 KiB segment "
               "(%.0f MB/s per byte once the call is paid)\n",
               call_us[0] - per_seg, per_seg, per_seg > 0 ? 4096 / per_seg : 0);
    }
    xengnttab_close(xgt);
    return failed;
}

/* ---- guest <-> guest ---- */

/* B serves A, A pings B n times (mode "ping" or "pingpoll") and reports; 0 if all came back. */
static int guest_pair(xc_interface *xch, const char *elf, long n, const char *mode,
                      const char *what, double dom0_ns, bool quiet)
{
    uint32_t a = 0;
    struct echo_info b = {0};
    char line[256], cmd[128];
    int rc = start_guest(xch, "dom0libs-ping", &a);
    if (rc == 0) {
        snprintf(cmd, sizeof(cmd), "serve=%u", a);
        rc = start_echo(xch, elf, cmd, &b);
    }
    if (rc == 0) {
        snprintf(cmd, sizeof(cmd), "%s=%u:%u:%ld", mode, b.domid, b.port, n);
        rc = load_guest(xch, a, elf, cmd);
    }
    unsigned long pn = 0, pns = 0;
    line[0] = 0;
    int timeout_ms = (int)(n / 10 + 20000); /* generous: 100 us a round trip plus start-up */
    if (rc == 0 && (rc = wait_line(xch, a, "PING ", line, sizeof(line), timeout_ms)) == 0 &&
        sscanf(line, "PING n=%lu ns=%lu", &pn, &pns) == 2 && pn)
        rc = 0;
    else if (rc == 0)
        rc = -EPROTO;
    if (quiet)
        ;
    else if (rc == 0)
        printf("evtchn ping-pong guest<->guest (%s): mean %.1f us (%lu round trips, the "
               "guest's clock); reference: dom0<->guest median above %.1f us\n",
               what, (double)pns / (double)pn / 1000, pn, dom0_ns / 1000);
    else
        printf("evtchn ping-pong guest<->guest (%s): failed (%s; see kxend's log)\n", what,
               rc == -EPROTO ? line : strerror(-rc));
    if (a)
        xc_domain_destroy(xch, a);
    if (b.domid)
        xc_domain_destroy(xch, b.domid);
    return rc == 0 && pn == (unsigned long)n ? 0 : -1;
}

static int bind_echo(xc_interface *xch, const char *elf, struct echo_info *e,
                     xenevtchn_handle **xce, int *lport)
{
    if (start_echo(xch, elf, "", e))
        return -1;
    *xce = xenevtchn_open(NULL, 0);
    *lport = *xce ? xenevtchn_bind_interdomain(*xce, e->domid, e->port) : -1;
    if (*lport <= 0)
        return -1;
    wait_event(*xce, 500); /* the bind-time event */
    return 0;
}

int bench(const char *elf, long n)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch)
        return 1;
    struct echo_info e = {0};
    xenevtchn_handle *xce = NULL;
    int lport = 0;
    if (bind_echo(xch, elf, &e, &xce, &lport))
        return 1;
    double dom0_ns = dom0_rows(xce, lport, n);
    int failed = dom0_ns <= 0;
    failed |= gnttab_rows(&e);
    xenevtchn_close(xce);
    xc_domain_destroy(xch, e.domid);

    guest_pair(xch, elf, n, "ping", "callback vector", dom0_ns, false);
    guest_pair(xch, elf, n, "pingpoll", "interrupts off, scan after block", dom0_ns, false);
    xc_interface_close(xch);
    return failed;
}

int stress(const char *elf, long n)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        printf("Bail out! no kxend: %s\n", strerror(errno));
        return 1;
    }
    printf("1..3\n");
    struct echo_info e = {0};
    xenevtchn_handle *xce = NULL;
    int lport = 0;
    if (bind_echo(xch, elf, &e, &xce, &lport)) {
        printf("Bail out! echo guest did not start or bind\n");
        return 1;
    }
    long done = 0;
    for (; done < n; done++) {
        xenevtchn_notify(xce, (evtchn_port_t)lport);
        if (wait_event(xce, 2000) != lport)
            break;
    }
    printf("%s 1 - %ld dom0<->guest round trips, none lost (each echo within 2 s): %ld done\n",
           done == n ? "ok" : "not ok", n, done);
    xenevtchn_close(xce);
    xc_domain_destroy(xch, e.domid);
    int bad = done != n;
    int rc = guest_pair(xch, elf, n, "ping", "", 0, true);
    printf("%s 2 - %ld guest<->guest round trips through the callback vector, none lost\n",
           rc ? "not ok" : "ok", n);
    bad |= rc != 0;
    rc = guest_pair(xch, elf, n / 4, "pingpoll", "", 0, true);
    printf("%s 3 - %ld guest<->guest round trips polling after block, none lost\n",
           rc ? "not ok" : "ok", n / 4);
    bad |= rc != 0;
    xc_interface_close(xch);
    return bad;
}
