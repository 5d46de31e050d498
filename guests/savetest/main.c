/* savetest: the guest of the save/restore tests. Counts ticks (every 100 ms, on the
 * hypervisor console) and obeys control/shutdown: "suspend" through Xen's suspend protocol
 * (printing the suspend call's result), "poweroff" by powering off. With `nosuspend` on its
 * command line it does not advertise control/feature-suspend, so the toolstack pauses it
 * instead, as it does guests without PV drivers. A counter that goes on after a restore
 * proves the guest continued where it stopped. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/sched.h>

#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/suspend.h"
#include "guest/time.h"
#include "guest/xenbus.h"

#define TICK_NS 100000000ull

static uint64_t ticks; /* in guest RAM: travels with the image */

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

static void handle_request(void)
{
    char value[64];
    int rc = xenbus_read(XBT_NIL, "control/shutdown", value, sizeof(value));
    if (rc < 0 || !value[0])
        return;
    xenbus_write(XBT_NIL, "control/shutdown", "");
    if (!strcmp(value, "suspend")) {
        hv_printf("savetest: suspending at tick %llu\n", (unsigned long long)ticks);
        rc = guest_suspend();
        hv_printf("savetest: resumed (rc=%d) at tick %llu\n", rc, (unsigned long long)ticks);
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
    hv_printf("savetest: ready (%s)\n", coop ? "suspends itself" : "paused by the toolstack");
    uint64_t next = monotonic_ns() + TICK_NS;
    for (;;) {
        char path[128], token[32];
        int rc = xenbus_read_watch(path, sizeof(path), token, sizeof(token), next);
        if (rc == 0) {
            handle_request();
            continue;
        }
        next = monotonic_ns() + TICK_NS;
        hv_printf("savetest: tick %llu\n", (unsigned long long)++ticks);
    }
}
