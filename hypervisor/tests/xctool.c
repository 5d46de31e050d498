/* kxen-xctool: a small command-line client of libxenctrl for the system tests and the
 * benchmark. One command per run; prints results on stdout, errors on stderr, exit 1 on
 * failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>

#include "kxen/util.h"

static xc_interface *xch;

static int die(const char *what)
{
    fprintf(stderr, "kxen-xctool: %s: %s\n", what, strerror(errno));
    return 1;
}

static uint32_t num(const char *s)
{
    return (uint32_t)strtoul(s, NULL, 0);
}

static int load(uint32_t domid, const char *image, const char *cmdline)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return die(image);
    struct kxen_ctl_domain_load_rep r;
    int rc = xc_kxen_domain_load(xch, domid, fd, cmdline, 0, 0, &r);
    close(fd);
    if (rc < 0)
        return die("load");
    printf("entry=%#llx start_info_pfn=%#llx store_pfn=%#llx console_pfn=%#llx\n",
           (unsigned long long)r.entry, (unsigned long long)r.start_info_pfn,
           (unsigned long long)r.store_pfn, (unsigned long long)r.console_pfn);
    return 0;
}

/* Waits for domid's shutdown event; prints the reason. */
static int wait_shutdown(xc_kxen_events *ev, uint32_t domid, int secs)
{
    uint64_t deadline = kxen_now_ns() + (uint64_t)secs * 1000000000ull;
    for (;;) {
        uint64_t now = kxen_now_ns();
        if (now >= deadline) {
            errno = ETIMEDOUT;
            return die("wait");
        }
        struct kxen_ctl_domain_event e;
        if (xc_kxen_events_read(ev, (int)((deadline - now) / 1000000 + 1), &e) < 0)
            return die("wait");
        if (e.domid == domid && e.event == KXEN_DOMEV_SHUTDOWN) {
            printf("shutdown reason=%u\n", e.shutdown_reason);
            return 0;
        }
        if (e.domid == domid && e.event == KXEN_DOMEV_DESTROYED) {
            printf("destroyed\n");
            return 0;
        }
    }
}

static int print_console(uint32_t domid)
{
    static char buf[65536];
    uint64_t off = 0;
    int n = xc_kxen_console_read(xch, domid, &off, buf, sizeof(buf));
    if (n < 0)
        return die("console");
    fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}

/* run NAME MEM_KB IMAGE CMDLINE SECS [VCPUS]: create, load, wait for shutdown, print the
 * console, the elapsed time from create to shutdown, destroy. */
static int run(char **a, unsigned vcpus)
{
    xc_kxen_events *ev = xc_kxen_events_open();
    if (!ev)
        return die("subscribe");
    uint32_t domid = 0;
    uint64_t t0 = kxen_now_ns();
    if (xc_kxen_domain_create(xch, a[0], num(a[1]), vcpus, NULL, 0, &domid) < 0)
        return die("create");
    int fd = open(a[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return die(a[2]);
    int rc = xc_kxen_domain_load(xch, domid, fd, a[3], 0, 0, NULL);
    close(fd);
    if (rc < 0)
        return die("load");
    rc = wait_shutdown(ev, domid, atoi(a[4]));
    uint64_t t1 = kxen_now_ns();
    if (rc == 0) {
        print_console(domid);
        printf("elapsed_ns=%llu\n", (unsigned long long)(t1 - t0));
    }
    xc_domain_destroy(xch, domid);
    xc_kxen_events_close(ev);
    return rc;
}

static int cycle(char **a)
{
    unsigned n = num(a[0]);
    for (unsigned i = 0; i < n; i++) {
        uint32_t domid = 0;
        if (xc_kxen_domain_create(xch, "cycle", 16384, 2, NULL, 0, &domid) < 0)
            return die("create");
        int fd = open(a[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return die(a[1]);
        int rc = xc_kxen_domain_load(xch, domid, fd, "s", 0, 0, NULL);
        close(fd);
        if (rc < 0)
            return die("load");
        if (xc_domain_destroy(xch, domid) < 0)
            return die("destroy");
    }
    printf("cycles=%u\n", n);
    return 0;
}

static int info(uint32_t domid)
{
    struct kxen_ctl_domain_info r;
    if (xc_kxen_domain_info(xch, domid, &r) < 0)
        return die("info");
    printf("domid=%u name=%s mem_kb=%llu vcpus=%u online=%u cpu_ns=%llu flags=%#x%s%s%s%s%s "
           "reason=%u\n",
           r.domid, r.name, (unsigned long long)r.memory_kb, r.nr_vcpus, r.nr_online_vcpus,
           (unsigned long long)r.cpu_time_ns, r.flags,
           (r.flags & KXEN_DOMINFO_RUNNING) ? " running" : "",
           (r.flags & KXEN_DOMINFO_BLOCKED) ? " blocked" : "",
           (r.flags & KXEN_DOMINFO_PAUSED) ? " paused" : "",
           (r.flags & KXEN_DOMINFO_SHUTDOWN) ? " shutdown" : "",
           (r.flags & KXEN_DOMINFO_DYING) ? " dying" : "", r.shutdown_reason);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kxen-xctool hello|create NAME KB VCPUS|load ID IMAGE [CMD]|"
                        "pause ID|unpause ID|destroy ID|shutdown ID REASON|info ID|list|"
                        "console ID|dmesg|dmesg-clear MAXBYTES|run NAME KB IMAGE CMD SECS "
                        "[VCPUS]|cycle N IMAGE|"
                        "rename ID NAME|param-get ID IDX|param-set ID IDX VAL|wait ID SECS|"
                        "evtchn-alloc ID REMOTE|evtchn-reset ID|stop-daemon\n");
        return 2;
    }
    xch = xc_interface_open(NULL, NULL, 0);
    if (!xch)
        return die("xc_interface_open");
    const char *c = argv[1];
    char **a = argv + 2;
    int na = argc - 2, rc = 0;
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (na < (n)) {                                                                            \
            fprintf(stderr, "kxen-xctool: %s needs %d argument(s)\n", c, n);                       \
            return 2;                                                                              \
        }                                                                                          \
    } while (0)
    if (!strcmp(c, "hello")) {
        struct kxen_ctl_hello_rep h;
        if (xc_kxen_hello(xch, &h) < 0)
            return die("hello");
        printf("version=%u accel=%s privileged=%u\n", h.version, h.accel, h.privileged);
    } else if (!strcmp(c, "create")) {
        NEED(3);
        uint32_t domid = 0;
        if (xc_kxen_domain_create(xch, a[0], num(a[1]), num(a[2]), NULL, 0, &domid) < 0)
            return die("create");
        printf("%u\n", domid);
    } else if (!strcmp(c, "load")) {
        NEED(2);
        rc = load(num(a[0]), a[1], na > 2 ? a[2] : "");
    } else if (!strcmp(c, "pause")) {
        NEED(1);
        if (xc_domain_pause(xch, num(a[0])) < 0)
            return die("pause");
    } else if (!strcmp(c, "unpause")) {
        NEED(1);
        if (xc_domain_unpause(xch, num(a[0])) < 0)
            return die("unpause");
    } else if (!strcmp(c, "destroy")) {
        NEED(1);
        if (xc_domain_destroy(xch, num(a[0])) < 0)
            return die("destroy");
    } else if (!strcmp(c, "shutdown")) {
        NEED(2);
        if (xc_domain_shutdown(xch, num(a[0]), (int)num(a[1])) < 0)
            return die("shutdown");
    } else if (!strcmp(c, "info")) {
        NEED(1);
        rc = info(num(a[0]));
    } else if (!strcmp(c, "list")) {
        xc_dominfo_t d[64];
        int n = xc_domain_getinfo(xch, 1, 64, d);
        if (n < 0)
            return die("getinfo");
        for (int i = 0; i < n; i++)
            printf("%u vcpus=%u pages=%lu%s%s%s\n", d[i].domid, d[i].max_vcpu_id + 1, d[i].nr_pages,
                   d[i].running ? " running" : "", d[i].paused ? " paused" : "",
                   d[i].shutdown ? " shutdown" : "");
    } else if (!strcmp(c, "console")) {
        NEED(1);
        rc = print_console(num(a[0]));
    } else if (!strcmp(c, "dmesg")) {
        static char buf[65536];
        unsigned n = sizeof(buf);
        if (xc_readconsolering(xch, buf, &n, 0, 0, NULL) < 0)
            return die("readconsolering");
        fwrite(buf, 1, n, stdout);
    } else if (!strcmp(c, "dmesg-clear")) {
        NEED(1);
        static char buf[65536];
        unsigned n = (unsigned)num(a[0]);
        if (n > sizeof(buf))
            n = sizeof(buf);
        if (xc_readconsolering(xch, buf, &n, 1, 0, NULL) < 0)
            return die("readconsolering");
        fwrite(buf, 1, n, stdout);
    } else if (!strcmp(c, "run")) {
        NEED(5);
        rc = run(a, argc > 7 ? (unsigned)num(a[5]) : 1);
    } else if (!strcmp(c, "cycle")) {
        NEED(2);
        rc = cycle(a);
    } else if (!strcmp(c, "rename")) {
        NEED(2);
        if (xc_kxen_domain_rename(xch, num(a[0]), a[1]) < 0)
            return die("rename");
    } else if (!strcmp(c, "param-get")) {
        NEED(2);
        uint64_t v;
        if (xc_hvm_param_get(xch, num(a[0]), num(a[1]), &v) < 0)
            return die("param-get");
        printf("%llu\n", (unsigned long long)v);
    } else if (!strcmp(c, "param-set")) {
        NEED(3);
        if (xc_hvm_param_set(xch, num(a[0]), num(a[1]), strtoull(a[2], NULL, 0)) < 0)
            return die("param-set");
    } else if (!strcmp(c, "wait")) {
        NEED(2);
        xc_kxen_events *ev = xc_kxen_events_open();
        if (!ev)
            return die("subscribe");
        struct kxen_ctl_domain_info r;
        if (xc_kxen_domain_info(xch, num(a[0]), &r) == 0 && (r.flags & KXEN_DOMINFO_SHUTDOWN))
            printf("shutdown reason=%u\n", r.shutdown_reason);
        else
            rc = wait_shutdown(ev, num(a[0]), atoi(a[1]));
        xc_kxen_events_close(ev);
    } else if (!strcmp(c, "evtchn-alloc")) {
        NEED(2);
        int port = xc_evtchn_alloc_unbound(xch, num(a[0]), num(a[1]));
        if (port < 0)
            return die("evtchn-alloc");
        printf("%d\n", port);
    } else if (!strcmp(c, "evtchn-reset")) {
        NEED(1);
        if (xc_evtchn_reset(xch, num(a[0])) < 0)
            return die("evtchn-reset");
    } else if (!strcmp(c, "stop-daemon")) {
        if (xc_kxen_shutdown_daemon(xch) < 0)
            return die("stop-daemon");
    } else {
        fprintf(stderr, "kxen-xctool: unknown command %s\n", c);
        rc = 2;
    }
    xc_interface_close(xch);
    return rc;
}
