/* driverdom: a driver domain. The backend cores dom0's devd runs (blkback, netback and its
 * learning switch) run here over the guest platform, watching /local/domain/<self>/backend
 * and bringing devices up and down as devd does. One single-threaded loop: poll every
 * backend, then block until a port fires, a watch event arrives or a backend left itself
 * work. The counters go to data/vif-stats and data/vbd-stats in our own xenstore home (the
 * proof that traffic moved here and not through dom0).
 * Command line words: `vbd`, `vif` (serve only those; default both), `quiet` (no per-device
 * log lines). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#include "../../drivers/block/blkback.h"
#include "../../drivers/net/netback.h"
#include "../../drivers/xenbus/platform_guest.h"
#include "ddom.h"

#define REPORT_NS 200000000ULL /* counters to xenstore at most this often, when they moved */
#define IDLE_NS 1000000000ULL  /* the loop's backstop: the switch ages MACs by the clock */

static bool quiet;

static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == ' ') && !strncmp(p, w, n) && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void log_line(void *ctx, const char *msg)
{
    (void)ctx;
    if (!quiet)
        hv_printf("driverdom: %s\n", msg);
}

static bool have_work(void *ctx)
{
    (void)ctx;
    return xenbus_platform_guest_pending() || xenbus_watch_pending() || ddom_fds_ready();
}

static void report(struct netback *nb)
{
    static struct netback_stats last_net;
    static struct ddom_blk_stats last_blk;
    char v[160];
    if (nb) {
        struct netback_stats st;
        netback_get_stats(nb, &st);
        if (memcmp(&st, &last_net, sizeof(st))) {
            snprintf(v, sizeof(v),
                     "tx_packets=%llu tx_bytes=%llu tx_errors=%llu rx_packets=%llu "
                     "rx_bytes=%llu rx_dropped=%llu",
                     (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
                     (unsigned long long)st.tx_errors, (unsigned long long)st.rx_packets,
                     (unsigned long long)st.rx_bytes, (unsigned long long)st.rx_dropped);
            if (xenbus_write(XBT_NIL, "data/vif-stats", v) == 0)
                last_net = st;
        }
    }
    if (memcmp(&ddom_blk_stats, &last_blk, sizeof(last_blk))) {
        snprintf(v, sizeof(v), "reads=%llu read_bytes=%llu writes=%llu write_bytes=%llu",
                 (unsigned long long)ddom_blk_stats.reads,
                 (unsigned long long)ddom_blk_stats.read_bytes,
                 (unsigned long long)ddom_blk_stats.writes,
                 (unsigned long long)ddom_blk_stats.write_bytes);
        if (xenbus_write(XBT_NIL, "data/vbd-stats", v) == 0)
            last_blk = ddom_blk_stats;
    }
}

int main(void)
{
    const char *cmd = boot_info.cmdline;
    bool want_vbd = has_word(cmd, "vbd"), want_vif = has_word(cmd, "vif");
    if (!want_vbd && !want_vif)
        want_vbd = want_vif = true;
    quiet = has_word(cmd, "quiet");

    struct blkback *bb = NULL;
    struct netback *nb = NULL;
    if (want_vbd) {
        struct blkback_config cfg;
        blkback_config_default(&cfg);
        /* One queue, a one-page ring and indirect requests of up to 128 KiB: what the
         * guest's grant-map window and kxend's per-domain map limit hold comfortably, with
         * the persistent grants kept mapped. */
        cfg.max_queues = 1;
        cfg.max_ring_page_order = 0;
        cfg.max_indirect_segments = 32;
        cfg.open_storage = ddom_open_storage;
        struct xenbus_platform *p = xenbus_platform_guest_open("vbd");
        bb = p ? blkback_new(p, &cfg, log_line, NULL) : NULL;
        if (!bb || blkback_start(bb))
            guest_panic("driverdom: the block backend did not start");
    }
    if (want_vif) {
        struct netback_config cfg;
        netback_config_default(&cfg);
        cfg.hotplug_self = true; /* no scripts here: a vif is a port of our switch */
        struct xenbus_platform *p = xenbus_platform_guest_open("vif");
        nb = p ? netback_new(p, &cfg, log_line, NULL) : NULL;
        if (!nb || netback_start(nb))
            guest_panic("driverdom: the network backend did not start");
    }
    xenbus_write(XBT_NIL, "data/driverdom",
                 want_vbd && want_vif ? "vbd vif"
                 : want_vbd           ? "vbd"
                                      : "vif");
    hv_printf("driverdom: serving%s%s as d%d\n", want_vbd ? " vbd" : "", want_vif ? " vif" : "",
              xen_self_domid());

    uint64_t next_report = 0;
    for (;;) {
        int n = 0;
        if (bb)
            n += blkback_poll(bb) > 0;
        if (nb)
            n += netback_poll(nb) > 0;
        uint64_t now = monotonic_ns();
        if (now >= next_report) {
            report(nb);
            next_report = now + REPORT_NS;
        }
        if (!n)
            wait_until(have_work, NULL, now + IDLE_NS);
    }
}
