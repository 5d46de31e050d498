/* kvm_guest_run: runs one guest image on a running kxend (of $KXEN_RUNDIR) through the control
 * library only — no xenstored or xenconsoled needed — and copies the guest's hypervisor-console
 * output (its TAP lines) to stdout until the domain shuts down.
 *   kvm_guest_run IMAGE [MEMORY_MB] [TIMEOUT_S]
 * Exit: 0 when the guest powered off, 1 when it shut down otherwise (crash...), 2 on timeout,
 * 3 when the domain could not be built. Prints "# time create->load ..." figures.
 *   kvm_guest_run --lifecycle SPIN_IMAGE
 * Runs a guest that never stops and checks pause, unpause and destroy on it (TAP lines):
 * these go through the accelerator's kick, park and stop paths. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/ctl_domain.h"
#include "kxen/util.h"
#include "xenctrl.h"

static void drain_console(xc_interface *xch, uint32_t domid, uint64_t *off, bool *seen)
{
    char buf[4096];
    int n;
    while ((n = xc_kxen_console_read(xch, domid, off, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, (size_t)n, stdout);
        *seen = true;
    }
    fflush(stdout);
}

static int tap_n, tap_fail;
static void check(bool ok, const char *what)
{
    tap_n++;
    tap_fail += !ok;
    printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, what);
}

static uint64_t cpu_time(xc_interface *xch, uint32_t domid, uint32_t *flags)
{
    struct kxen_ctl_domain_info info;
    if (xc_kxen_domain_info(xch, domid, &info) < 0)
        return 0;
    if (flags)
        *flags = info.flags;
    return info.cpu_time_ns;
}

static int lifecycle(xc_interface *xch, const char *image)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    uint32_t domid = 0, flags = 0;
    /* Two vCPUs: the second stays down (parked) and must not stop pause or destroy. */
    if (fd < 0 || xc_kxen_domain_create(xch, "spin", 32 * 1024, 2, NULL, 0, &domid) < 0 ||
        xc_kxen_domain_load(xch, domid, fd, "", 0, 0, NULL) < 0) {
        check(false, "spinning guest is built and started");
        return 1;
    }
    close(fd);
    usleep(500 * 1000);
    cpu_time(xch, domid, &flags);
    check(flags & KXEN_DOMINFO_RUNNING, "spinning guest (2 vCPUs, 1 up) is running");
    /* A guest that never exits is accounted when it leaves guest code: pause makes it. */
    check(xc_domain_pause(xch, domid) == 0, "pause");
    usleep(100 * 1000);
    uint64_t a = cpu_time(xch, domid, &flags);
    check(a >= 200 * 1000 * 1000ull, "CPU time of the run is accounted once paused");
    usleep(300 * 1000);
    uint64_t b = cpu_time(xch, domid, NULL);
    check((flags & KXEN_DOMINFO_PAUSED) && b == a, "paused guest stays off the CPU");
    check(xc_domain_unpause(xch, domid) == 0, "unpause");
    usleep(300 * 1000);
    xc_domain_pause(xch, domid);
    usleep(100 * 1000);
    uint64_t c = cpu_time(xch, domid, NULL);
    xc_domain_unpause(xch, domid);
    check(c >= b + 100 * 1000 * 1000ull, "unpaused guest runs again");
    uint64_t t0 = kxen_now_ns();
    check(xc_domain_destroy(xch, domid) == 0, "destroy a spinning guest");
    struct kxen_ctl_domain_info info;
    bool gone = false;
    for (int i = 0; i < 400 && !gone; i++) {
        gone = xc_kxen_domain_info(xch, domid, &info) < 0;
        if (!gone)
            usleep(5000);
    }
    check(gone, "destroyed guest is gone");
    printf("# destroy of a spinning guest took %.2f ms\n", (double)(kxen_now_ns() - t0) / 1e6);
    return tap_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--lifecycle")) {
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);
        if (!xch) {
            fprintf(stderr, "kvm_guest_run: no kxend: %s\n", strerror(errno));
            return 3;
        }
        int rc = lifecycle(xch, argv[2]);
        xc_interface_close(xch);
        return rc;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: kvm_guest_run IMAGE [MEMORY_MB] [TIMEOUT_S] [VCPUS]\n");
        return 3;
    }
    unsigned mem_mb = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    unsigned timeout_s = argc > 3 ? (unsigned)atoi(argv[3]) : 120;
    unsigned vcpus = argc > 4 ? (unsigned)atoi(argv[4]) : 1;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "kvm_guest_run: no kxend: %s\n", strerror(errno));
        return 3;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "kvm_guest_run: %s: %s\n", argv[1], strerror(errno));
        return 3;
    }
    char name[64];
    snprintf(name, sizeof(name), "%s", basename(argv[1]));
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = 0;
    uint32_t domid = 0;
    uint64_t t0 = kxen_now_ns();
    if (xc_kxen_domain_create(xch, name, (uint64_t)mem_mb * 1024, vcpus, NULL, 0, &domid) < 0) {
        fprintf(stderr, "kvm_guest_run: create %s: %s\n", name, strerror(errno));
        return 3;
    }
    struct kxen_ctl_domain_load_rep rep;
    if (xc_kxen_domain_load(xch, domid, fd, "", 0, 0, &rep) < 0) {
        fprintf(stderr, "kvm_guest_run: load %s: %s\n", argv[1], strerror(errno));
        xc_domain_destroy(xch, domid);
        return 3;
    }
    uint64_t t_loaded = kxen_now_ns(), t_first = 0;
    close(fd);
    uint64_t off = 0;
    bool seen = false;
    int rc = 2;
    for (unsigned i = 0; i < timeout_s * 200; i++) {
        drain_console(xch, domid, &off, &seen);
        if (seen && !t_first)
            t_first = kxen_now_ns();
        struct kxen_ctl_domain_info info;
        if (xc_kxen_domain_info(xch, domid, &info) < 0) {
            fprintf(stderr, "kvm_guest_run: domain %u vanished\n", domid);
            rc = 1;
            break;
        }
        if (info.flags & KXEN_DOMINFO_SHUTDOWN) {
            drain_console(xch, domid, &off, &seen);
            printf("# %s: shut down with reason %u\n", name, info.shutdown_reason);
            rc = info.shutdown_reason == 0 ? 0 : 1;
            break;
        }
        usleep(5000);
    }
    if (rc == 2)
        printf("# %s: no shutdown within %u s\n", name, timeout_s);
    printf("# %s: create+load %.2f ms, create to first console output %.2f ms\n", name,
           (double)(t_loaded - t0) / 1e6, t_first ? (double)(t_first - t0) / 1e6 : -1.0);
    xc_domain_destroy(xch, domid);
    xc_interface_close(xch);
    return rc;
}
