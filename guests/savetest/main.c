/* savetest: the guest of the save/restore tests. Counts ticks (every 100 ms, on the
 * hypervisor console) and obeys control/shutdown: "suspend" through Xen's suspend protocol
 * (printing the suspend call's result), "poweroff" by powering off. With `nosuspend` on its
 * command line it does not advertise control/feature-suspend, so the toolstack pauses it
 * instead, as it does guests without PV drivers. A counter that goes on after a restore
 * proves the guest continued where it stopped. `dirty=N` makes it write every page of N MiB
 * above 16 MiB without pause (the memory-writing guest of the migration benchmark and of the
 * convergence test), and check after every resume that each page holds the last pass's word,
 * so a page the migration lost shows up. `disk` and
 * `vif` connect its first vbd and vif 0 and check them around every suspend (devices.c); `io`
 * adds a write and read-back of the disk every tick, `net` a frame's round trip with a peer
 * savetest (the backend-restart tests); `readback` keeps the backend reading into guest
 * buffers without pause and checks them after every resume, `nopersist` turns blkfront's
 * persistent grants off (devices.c); `rxlog` keeps netback copying frames into the vif's
 * receive buffers and checks them on the new host (rxlog.c). `suspend-delay=MS` takes the
 * suspend request at once and calls suspend MS later (Linux freezing its tasks under load),
 * `ack-delay=MS` takes the request only MS after it came (a guest too busy to look). */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/sched.h>

#include "devices.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/suspend.h"
#include "guest/time.h"
#include "guest/xenbus.h"
#include "rxlog.h"

#define TICK_NS 100000000ull
#define MS 1000000ull

static uint64_t ticks; /* in guest RAM: travels with the image */
static uint64_t dirty_mib, dirty_round;
static uint64_t ack_delay_ms, suspend_delay_ms;

/* The command line names word (cmdline words are separated by spaces). */
static bool cmdline_has(const char *word)
{
    size_t n = strlen(word);
    for (const char *p = boot_info.cmdline; *p;) {
        if (!strncmp(p, word, n) && (p[n] == ' ' || !p[n]))
            return true;
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    return false;
}

/* The value of key=N on the command line, or 0. */
static uint64_t cmdline_num(const char *key)
{
    size_t n = strlen(key);
    for (const char *p = boot_info.cmdline; *p; p++) {
        if ((p == boot_info.cmdline || p[-1] == ' ') && !strncmp(p, key, n) && p[n] == '=') {
            uint64_t v = 0;
            for (p += n + 1; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint64_t)(*p - '0');
            return v;
        }
    }
    return 0;
}

#define DIRTY_BASE (16ull << 20)

/* One pass over the dirty region: every page gets a new word. The region lies in RAM below
 * 4 GiB (identity-mapped by the runtime) above the image and its stack. */
static void dirty_pass(uint64_t mib, uint64_t round)
{
    uint64_t limit = boot_info.nr_pages << 12;
    for (uint64_t a = DIRTY_BASE; a < DIRTY_BASE + (mib << 20) && a + 4096 <= limit; a += 4096)
        *(volatile uint64_t *)(uintptr_t)a = round ^ a;
}

/* After a resume: every page of the dirty region must hold the last pass's word (the
 * suspend comes between passes), whatever the migration sent in which round. */
static void dirty_check(void)
{
    uint64_t limit = boot_info.nr_pages << 12, pages = 0, bad = 0, first_bad = 0;
    for (uint64_t a = DIRTY_BASE; a < DIRTY_BASE + (dirty_mib << 20) && a + 4096 <= limit;
         a += 4096, pages++) {
        if (*(volatile uint64_t *)(uintptr_t)a != (dirty_round ^ a) && !bad++)
            first_bad = a;
    }
    if (bad)
        hv_printf("savetest: dirty check FAILED - %llu of %llu pages stale (first at %#llx), "
                  "pass %llu\n",
                  (unsigned long long)bad, (unsigned long long)pages, (unsigned long long)first_bad,
                  (unsigned long long)dirty_round);
    else
        hv_printf("savetest: dirty check ok - %llu pages hold pass %llu\n",
                  (unsigned long long)pages, (unsigned long long)dirty_round);
}

/* After a resume: the guest's clock must not have gone back, whichever host it runs on now
 * and however long ago that host's kxend started. */
static void time_check(uint64_t before)
{
    uint64_t after = monotonic_ns();
    hv_printf("savetest: time check %s - %llu ns before the suspend, %llu ns after\n",
              after >= before ? "ok" : "FAILED", (unsigned long long)before,
              (unsigned long long)after);
}

static void handle_request(void)
{
    char value[64];
    int rc = xenbus_read(XBT_NIL, "control/shutdown", value, sizeof(value));
    if (rc < 0 || !value[0])
        return;
    if (ack_delay_ms && !strcmp(value, "suspend")) {
        hv_printf("savetest: a suspend request, taken in %llu ms\n",
                  (unsigned long long)ack_delay_ms);
        sleep_ns(ack_delay_ms * MS);
        rc = xenbus_read(XBT_NIL, "control/shutdown", value, sizeof(value));
        if (rc < 0 || !value[0]) {
            hv_printf("savetest: the suspend request was taken back\n");
            return;
        }
    }
    xenbus_write(XBT_NIL, "control/shutdown", "");
    if (!strcmp(value, "suspend")) {
        if (suspend_delay_ms) {
            hv_printf("savetest: suspend request taken, suspending in %llu ms\n",
                      (unsigned long long)suspend_delay_ms);
            sleep_ns(suspend_delay_ms * MS);
        }
        rxlog_quiesce();
        devices_before_suspend();
        hv_printf("savetest: suspending at tick %llu\n", (unsigned long long)ticks);
        uint64_t before = monotonic_ns();
        rc = guest_suspend();
        hv_printf("savetest: resumed (rc=%d) at tick %llu\n", rc, (unsigned long long)ticks);
        time_check(before);
        if (dirty_mib)
            dirty_check();
        rxlog_resumed();
        devices_after_resume();
    } else if (!strcmp(value, "poweroff") || !strcmp(value, "halt")) {
        hv_printf("savetest: powering off at tick %llu\n", (unsigned long long)ticks);
        guest_shutdown(SHUTDOWN_poweroff);
    }
}

int main(void)
{
    bool coop = !cmdline_has("nosuspend");
    if (coop && guest_suspend_advertise() < 0)
        hv_printf("savetest: cannot write control/feature-suspend\n");
    if (xenbus_watch("control/shutdown", "shutdown", 0, 0) < 0) {
        hv_printf("savetest: cannot watch control/shutdown\n");
        return 1;
    }
    bool net = cmdline_has("net");
    if (net)
        devices_net_mode();
    if (cmdline_has("readback"))
        devices_readback_enable();
    if (!devices_start(cmdline_has("disk"), cmdline_has("vif"), !cmdline_has("nopersist")))
        return 1;
    bool rxlog = cmdline_has("rxlog") && devices_vif_mac();
    if (rxlog)
        rxlog_start(devices_vif_mac());
    ack_delay_ms = cmdline_num("ack-delay");
    suspend_delay_ms = cmdline_num("suspend-delay");
    hv_printf("savetest: ready (%s)\n", coop ? "suspends itself" : "paused by the toolstack");
    bool io = cmdline_has("io");
    uint64_t dirty = dirty_mib = cmdline_num("dirty");
    bool busy = dirty || cmdline_has("readback") || rxlog;
    uint64_t next = monotonic_ns() + TICK_NS;
    for (;;) {
        char path[128], token[32];
        if (dirty)
            dirty_pass(dirty, ++dirty_round);
        devices_readback_step();
        rxlog_step();
        int rc = xenbus_read_watch(path, sizeof(path), token, sizeof(token),
                                   busy && monotonic_ns() < next ? monotonic_ns() + 1 : next);
        if (rc != 0 && busy && monotonic_ns() < next)
            continue;
        if (rc == 0) {
            handle_request();
            continue;
        }
        next = monotonic_ns() + TICK_NS;
        hv_printf("savetest: tick %llu\n", (unsigned long long)++ticks);
        rxlog_tick(ticks);
        if (io)
            devices_tick();
        if (net)
            devices_tick_net();
    }
}
