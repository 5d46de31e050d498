/* hello: the demo PV guest (scripts/demo.sh). Prints a banner, reads its name and domid from
 * xenstore, writes data/hello = "world", then watches control/shutdown and shuts down with the
 * reason the toolstack asks for ("poweroff", "halt" -> poweroff, "reboot" -> reboot,
 * "crash" -> crash), acknowledging the request by clearing the node as Linux guests do.
 * "watchdog" arms a 1 s SCHEDOP_watchdog and never pets it, as a hung guest would: the
 * hypervisor then shuts the domain down with SHUTDOWN_watchdog (tests of on_watchdog).
 * It runs the runtime's balloon driver: memory/target (xl mem-set) resizes it. With "touch" as
 * its command line it first writes every page of its highest RAM range, as a guest that
 * uses its memory would (tests that ballooning returns memory to the host). */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/sched.h>

#include "guest/balloon.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/xenbus.h"

static const struct {
    const char *request;
    unsigned reason;
} shutdown_requests[] = {
    {"poweroff", SHUTDOWN_poweroff},
    {"halt", SHUTDOWN_poweroff},
    {"reboot", SHUTDOWN_reboot},
    {"crash", SHUTDOWN_crash},
};

/* Returns the SHUTDOWN_* reason for a control/shutdown value, -1 for none or unknown. */
static int shutdown_reason(const char *value)
{
    for (unsigned i = 0; i < ARRAY_SIZE(shutdown_requests); i++)
        if (!strcmp(value, shutdown_requests[i].request))
            return (int)shutdown_requests[i].reason;
    return -1;
}

extern char __image_end[];

/* One write per page of the highest RAM range above the image. */
static uint64_t touch_ram(void)
{
    uint64_t start = 0, end = 0, image_end = (uintptr_t)__image_end;
    for (unsigned i = 0; i < boot_info.nr_memmap; i++) {
        const struct boot_memmap_entry *e = &boot_info.memmap[i];
        if (e->type == 1 && e->addr + e->size > end) {
            start = e->addr;
            end = e->addr + e->size;
        }
    }
    if (start < image_end)
        start = (image_end + 4095) & ~4095ull;
    for (uint64_t a = start; a < end; a += 4096)
        *(volatile uint8_t *)(uintptr_t)a = 0x5a;
    return end > start ? (end - start) >> 10 : 0;
}

int main(void)
{
    char name[128], domid[16], value[64];
    hv_printf("Hello from kxen! (guest runtime, %s entry)\n", boot_info.accel_path);
    if (boot_info.cmdline[0])
        hv_printf("hello: command line \"%s\"\n", boot_info.cmdline);
    if (!strcmp(boot_info.cmdline, "touch"))
        hv_printf("hello: touched %lu KiB of RAM\n", (unsigned long)touch_ram());

    int rc = xenbus_read(XBT_NIL, "name", name, sizeof(name));
    if (rc < 0) {
        hv_printf("hello: cannot read my name from xenstore (%d)\n", rc);
        return 1;
    }
    rc = xenbus_read(XBT_NIL, "domid", domid, sizeof(domid));
    if (rc < 0) {
        hv_printf("hello: cannot read my domid from xenstore (%d)\n", rc);
        return 1;
    }
    hv_printf("hello: I am \"%s\", domain %s\n", name, domid);

    rc = xenbus_write(XBT_NIL, "data/hello", "world");
    if (rc < 0) {
        hv_printf("hello: cannot write data/hello (%d)\n", rc);
        return 1;
    }
    hv_printf("hello: wrote data/hello = \"world\"\n");

    rc = xenbus_watch("control/shutdown", "shutdown", 0, 0);
    if (rc < 0) {
        hv_printf("hello: cannot watch control/shutdown (%d)\n", rc);
        return 1;
    }
    rc = balloon_init();
    if (rc < 0)
        hv_printf("hello: no balloon driver (%d)\n", rc);
    hv_printf("hello: waiting for control/shutdown\n");

    for (;;) {
        char path[128], token[32];
        rc = xenbus_read_watch(path, sizeof(path), token, sizeof(token), 0);
        if (rc < 0) {
            hv_printf("hello: lost the xenstore connection (%d)\n", rc);
            return 1;
        }
        if (!strcmp(token, BALLOON_WATCH_TOKEN)) {
            uint64_t before = balloon_current_kb();
            int64_t now = balloon_update();
            if (now >= 0 && (uint64_t)now != before)
                hv_printf("hello: balloon: %lu KiB\n", (unsigned long)now);
            continue;
        }
        rc = xenbus_read(XBT_NIL, "control/shutdown", value, sizeof(value));
        if (rc == -XEN_ENOENT || rc == 0)
            continue; /* the initial event, or our own acknowledgement */
        if (rc < 0) {
            hv_printf("hello: cannot read control/shutdown (%d)\n", rc);
            continue;
        }
        if (!strcmp(value, "watchdog")) {
            xenbus_write(XBT_NIL, "control/shutdown", "");
            struct sched_watchdog wd = {.id = 0, .timeout = 1};
            long id = HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
            hv_printf("hello: watchdog armed (id %ld, 1 s), not petting it\n", id);
            continue;
        }
        int reason = shutdown_reason(value);
        if (reason < 0) {
            hv_printf("hello: ignoring unsupported shutdown request \"%s\"\n", value);
            continue;
        }
        xenbus_write(XBT_NIL, "control/shutdown", "");
        hv_printf("hello: shutting down (%s)\n", value);
        guest_shutdown((unsigned)reason);
    }
}
