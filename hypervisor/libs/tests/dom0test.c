/* dom0libs-test: a dom0 process using libxenevtchn, libxengnttab and libxenforeignmemory
 * against a running kxend and the echo guest (hypervisor/libs/guest/echo.c).
 *   dom0libs-test check ECHO.elf   TAP lines proving the libraries' behaviour end to end
 *   dom0libs-test bench ECHO.elf N figures for bench/hypervisor (dom0bench.c)
 *   dom0libs-test stress ECHO.elf N N event round trips dom0<->guest, none may be lost
 *                                  (dom0bench.c) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_evtchn.h"
#include "kxen/ctl_gnttab.h"
#include "dom0test.h"

static int tap_n, tap_failed;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok)
        tap_failed++;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int start_guest(xc_interface *xch, const char *name, uint32_t *domid)
{
    if (xc_kxen_domain_create(xch, name, 16 * 1024, 1, NULL, 0, domid) < 0)
        return -errno;
    return 0;
}

int load_guest(xc_interface *xch, uint32_t domid, const char *elf, const char *cmdline)
{
    int fd = open(elf, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = xc_kxen_domain_load(xch, domid, fd, cmdline, 0, 0, NULL) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Waits for a hypervisor-console line of domid starting with prefix; copies it to line. */
int wait_line(xc_interface *xch, uint32_t domid, const char *prefix, char *line, size_t cap,
              int timeout_ms)
{
    static char acc[65536];
    size_t len = 0;
    uint64_t off = 0, end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (now_ns() < end) {
        int n = xc_kxen_console_read(xch, domid, &off, acc + len, sizeof(acc) - 1 - len);
        if (n > 0)
            len += (size_t)n;
        acc[len] = 0;
        char *p = strstr(acc, prefix);
        char *nl = p ? strchr(p, '\n') : NULL;
        if (nl) {
            size_t l = (size_t)(nl - p) < cap - 1 ? (size_t)(nl - p) : cap - 1;
            memcpy(line, p, l);
            line[l] = 0;
            return 0;
        }
        if (n <= 0)
            usleep(20000);
    }
    return -ETIMEDOUT;
}

/* One event from xce within timeout_ms: the port, -1 on timeout. Unmasks it again. */
int wait_event(xenevtchn_handle *xce, int timeout_ms)
{
    struct pollfd p = {.fd = xenevtchn_fd(xce), .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    int port = xenevtchn_pending(xce);
    if (port >= 0)
        xenevtchn_unmask(xce, (evtchn_port_t)port);
    return port;
}

int start_echo(xc_interface *xch, const char *elf, const char *cmdline, struct echo_info *e)
{
    char line[256];
    int rc = start_guest(xch, "dom0libs-echo", &e->domid);
    if (rc == 0)
        rc = load_guest(xch, e->domid, elf, cmdline);
    if (rc == 0)
        rc = wait_line(xch, e->domid, "ECHO ", line, sizeof(line), 20000);
    if (rc == 0 && sscanf(line, "ECHO port=%u ref=%u roref=%u pfn=%lu", &e->port, &e->ref,
                          &e->roref, &e->pfn) != 4)
        rc = -EPROTO;
    return rc;
}

static void check_evtchn(struct echo_info *e, xenevtchn_handle *xce, int *lport_out)
{
    int lport = xenevtchn_bind_interdomain(xce, e->domid, e->port);
    tap(lport > 0, "xenevtchn_bind_interdomain to the guest's unbound port (%d)", lport);
    *lport_out = lport;
    if (lport <= 0)
        return;
    int again = xenevtchn_bind_interdomain(xce, e->domid, e->port);
    tap(again < 0 && errno == EINVAL, "binding the same (now bound) port again fails EINVAL");
    int bad = xenevtchn_bind_interdomain(xce, 0x7000, 1);
    tap(bad < 0 && errno == ESRCH, "binding a port of a missing domain fails ESRCH");
    /* Xen raises the new local port once at bind time. */
    int first = wait_event(xce, 500);
    tap(first == lport, "bind-time event reported by xenevtchn_pending (%d)", first);
    int rounds = 0;
    for (int i = 0; i < 100; i++) {
        if (xenevtchn_notify(xce, (evtchn_port_t)lport) < 0)
            break;
        uint64_t t0 = now_ns();
        int got = wait_event(xce, 5000);
        if (got != lport) {
            printf("# round %d: got %d after %llu ms\n", i, got,
                   (unsigned long long)((now_ns() - t0) / 1000000));
            xenevtchn_notify(xce, (evtchn_port_t)lport);
            got = wait_event(xce, 5000);
            printf("# one more notify: %d after %llu ms\n", got,
                   (unsigned long long)((now_ns() - t0) / 1000000));
            break;
        }
        rounds++;
    }
    tap(rounds == 100, "100 notify/echo round trips through eventfds (%d done)", rounds);
    /* masked until unmask: a second echo is not reported before unmask */
    xenevtchn_notify(xce, (evtchn_port_t)lport);
    struct pollfd p = {.fd = xenevtchn_fd(xce), .events = POLLIN};
    bool fired = poll(&p, 1, 2000) == 1 && xenevtchn_pending(xce) == lport;
    xenevtchn_notify(xce, (evtchn_port_t)lport);
    usleep(100000);
    bool silent = poll(&p, 1, 200) == 0;
    xenevtchn_unmask(xce, (evtchn_port_t)lport);
    bool refired = poll(&p, 1, 2000) == 1 && xenevtchn_pending(xce) == lport;
    xenevtchn_unmask(xce, (evtchn_port_t)lport);
    tap(fired && silent && refired, "a fired port stays masked until xenevtchn_unmask, then "
                                    "reports the event that came meanwhile");
    tap(xenevtchn_notify(xce, 4095) < 0 && errno == ENOTCONN,
        "notify on a port the handle does not hold fails ENOTCONN");
}

static void check_gnttab(struct echo_info *e)
{
    xengnttab_handle *xgt = xengnttab_open(NULL, 0);
    tap(xgt != NULL, "xengnttab_open");
    if (!xgt)
        return;
    char *page = xengnttab_map_grant_ref(xgt, e->domid, e->ref, PROT_READ | PROT_WRITE);
    tap(page && strcmp(page, "kxen-grant-page") == 0,
        "xengnttab_map_grant_ref maps the granted page (reads the guest's pattern)");
    if (page)
        memcpy(page + 100, "dom0 was here", 14);
    void *ro = xengnttab_map_grant_ref(xgt, e->domid, e->roref, PROT_READ | PROT_WRITE);
    tap(ro == NULL && errno == EINVAL, "a writable map of a read-only grant is refused");
    ro = xengnttab_map_grant_ref(xgt, e->domid, e->roref, PROT_READ);
    tap(ro && strcmp(ro, "read-only-page") == 0, "a read-only map of it works");
    void *none = xengnttab_map_grant_ref(xgt, e->domid, e->ref + 50, PROT_READ);
    tap(none == NULL, "a ref the guest never granted cannot be mapped");
    uint32_t refs[2] = {e->ref, e->ref + 50};
    none = xengnttab_map_domain_grant_refs(xgt, 2, e->domid, refs, PROT_READ);
    tap(none == NULL, "a batch with one bad ref maps nothing");

    char buf[32] = {0};
    xengnttab_grant_copy_segment_t seg[2] = {0};
    seg[0].source.foreign.ref = e->ref;
    seg[0].source.foreign.domid = (uint16_t)e->domid;
    seg[0].source.foreign.offset = 100;
    seg[0].dest.virt = buf;
    seg[0].len = 14;
    seg[0].flags = GNTCOPY_source_gref;
    seg[1].source.virt = "x";
    seg[1].dest.foreign.ref = e->roref;
    seg[1].dest.foreign.domid = (uint16_t)e->domid;
    seg[1].len = 1;
    seg[1].flags = GNTCOPY_dest_gref;
    int rc = xengnttab_grant_copy(xgt, 2, seg);
    tap(rc == 0 && seg[0].status == GNTST_okay && strcmp(buf, "dom0 was here") == 0,
        "grant copy from the guest's grant into a local buffer");
    tap(rc == 0 && seg[1].status == GNTST_general_error,
        "grant copy into a read-only grant gets GNTST_general_error (%d)", seg[1].status);
    tap(page && xengnttab_unmap(xgt, page, 1) == 0, "xengnttab_unmap");
    tap(xengnttab_unmap(xgt, page, 1) < 0 && errno == EINVAL, "a second unmap fails EINVAL");
    if (ro)
        xengnttab_unmap(xgt, ro, 1);
    xengnttab_close(xgt);
}

static void check_foreign(struct echo_info *e)
{
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    tap(fm != NULL, "xenforeignmemory_open");
    if (!fm)
        return;
    xen_pfn_t pfns[2] = {e->pfn, 1ul << 40};
    int err[2] = {1, 1};
    char *p = xenforeignmemory_map(fm, e->domid, PROT_READ, 2, pfns, err);
    tap(p && err[0] == 0 && strcmp(p + 100, "dom0 was here") == 0,
        "xenforeignmemory_map sees the guest page (and dom0's write through the grant)");
    tap(p && err[1] == -EINVAL, "a frame outside the guest's RAM gets err = -EINVAL");
    if (p)
        xenforeignmemory_unmap(fm, p, 2);
    p = xenforeignmemory_map(fm, e->domid, PROT_READ, 2, pfns, NULL);
    tap(p == NULL, "without err[], one bad frame fails the whole map");
    tap(xenforeignmemory_map(fm, 0x7000, PROT_READ, 1, pfns, NULL) == NULL && errno == ESRCH,
        "mapping a missing domain fails ESRCH");
    xenforeignmemory_close(fm);
}

/* Malformed control requests get clear errors, never a crash or a partial effect. */
static void check_hostile_requests(struct echo_info *e)
{
    struct kxen_ctl *c;
    if (kxen_ctl_open(NULL, &c)) {
        tap(false, "control connection for malformed requests");
        return;
    }
    struct {
        struct kxen_ctl_gnttab_map m;
        uint32_t refs[2];
    } map = {{.domid = (uint16_t)e->domid, .count = 0}, {e->ref, e->ref}};
    char rep[4096];
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_MAP, &map, sizeof(map), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_MAP with count 0 -> EINVAL");
    map.m.count = 100; /* more refs than the payload holds */
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_MAP, &map, sizeof(map), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_MAP claiming more refs than sent -> EINVAL");
    map.m.count = 1;
    map.m.flags = 0x80;
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_MAP, &map, sizeof(map), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_MAP with unknown flags -> EINVAL");
    struct {
        struct kxen_ctl_gnttab_copy h;
        struct kxen_ctl_gnttab_copy_seg seg;
    } cp = {{.count = 1}, {.source_ref = e->ref, .source_domid = (uint16_t)e->domid, .len = 8}};
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_COPY, &cp, sizeof(cp), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_COPY segment naming no grant side -> EINVAL");
    cp.seg.flags = GNTCOPY_dest_gref; /* local source bytes missing from the request */
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_COPY, &cp, sizeof(cp), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_COPY without the bytes it announces -> EINVAL");
    cp.seg.flags = GNTCOPY_source_gref;
    cp.seg.source_offset = 4090;
    int16_t *st = (int16_t *)rep;
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_COPY, &cp, sizeof(cp), rep, sizeof(rep), NULL) == 0 &&
            st[0] == GNTST_bad_copy_arg,
        "GNTTAB_COPY across a page end -> GNTST_bad_copy_arg");
    cp.seg.source_offset = 0;
    cp.h.flags = KXEN_CTL_GNTCOPY_SHARED; /* no copy buffer sent on this connection */
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_COPY, &cp, sizeof(cp), rep, sizeof(rep), NULL) ==
            -EINVAL,
        "GNTTAB_COPY through a copy buffer never sent -> EINVAL");
    int mfd = memfd_create("unsealed", MFD_CLOEXEC);
    bool sized = mfd >= 0 && ftruncate(mfd, KXEN_CTL_GNTCOPY_BUF_SIZE) == 0;
    tap(sized && kxen_ctl_call(c, KXEN_CTL_GNTTAB_COPY, &cp, sizeof(cp), &mfd, 1, rep, sizeof(rep),
                               NULL, NULL, NULL) == -EINVAL,
        "GNTTAB_COPY with a copy buffer the client could shrink (no seal) -> EINVAL");
    if (mfd >= 0)
        close(mfd);
    uint32_t unmap[2] = {1, 12345};
    tap(kxen_ctl_simple(c, KXEN_CTL_GNTTAB_UNMAP, unmap, sizeof(unmap), NULL, 0, NULL) == -EINVAL,
        "GNTTAB_UNMAP of a handle this connection never got -> EINVAL");
    struct kxen_ctl_evtchn_port_arg ub = {.port = 1};
    tap(kxen_ctl_simple(c, KXEN_CTL_EVTCHN_UNBIND, &ub, sizeof(ub), NULL, 0, NULL) == -ENOTCONN,
        "EVTCHN_UNBIND of another client's port -> ENOTCONN");
    uint16_t tiny = 1;
    tap(kxen_ctl_simple(c, KXEN_CTL_EVTCHN_BIND_INTERDOMAIN, &tiny, sizeof(tiny), NULL, 0, NULL) ==
            -EINVAL,
        "a truncated bind request -> EINVAL");
    kxen_ctl_close(c);
}

/* A caller whose peer credentials are not privileged gets nothing. */
static void check_unprivileged(struct echo_info *e)
{
    if (geteuid() != 0) {
        printf("# not root: the unprivileged-caller check needs another uid; skipped\n");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(3);
        xenevtchn_handle *x = xenevtchn_open(NULL, 0);
        if (!x)
            _exit(errno == EACCES || errno == EPERM || errno == ECONNREFUSED ? 0 : 4);
        int p = xenevtchn_bind_interdomain(x, e->domid, e->port);
        _exit(p < 0 && errno == EPERM ? 0 : 5);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    tap(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "an unprivileged process cannot bind event channels (child status %d)",
        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int check(const char *elf)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        printf("Bail out! no kxend: %s\n", strerror(errno));
        return 1;
    }
    struct echo_info e = {0};
    int rc = start_echo(xch, elf, "", &e);
    tap(rc == 0, "echo guest started and offered a port and grants to dom0 (%s)",
        rc ? strerror(-rc) : "ok");
    if (rc)
        return 1;
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    tap(xce != NULL, "xenevtchn_open");
    int lport = -1;
    if (xce)
        check_evtchn(&e, xce, &lport);
    check_gnttab(&e);
    check_foreign(&e);
    check_hostile_requests(&e);
    check_unprivileged(&e);
    if (xce && lport > 0) {
        /* As with Xen's /dev/xen/evtchn, whose ring keeps it, a port that fired before its
         * unbind is still reported to a caller that polled first (it must not block for
         * ever on a set that is now empty; SIGALRM ends the test if it does). */
        xenevtchn_notify(xce, (evtchn_port_t)lport);
        struct pollfd pf = {.fd = xenevtchn_fd(xce), .events = POLLIN};
        bool ready = poll(&pf, 1, 2000) == 1;
        tap(xenevtchn_unbind(xce, (evtchn_port_t)lport) == 0, "xenevtchn_unbind");
        alarm(5);
        int stale = ready ? xenevtchn_pending(xce) : -1;
        alarm(0);
        tap(stale == lport, "an event that fired before the unbind is still reported (%d)", stale);
        struct kxen_ctl *c;
        struct kxen_ctl_evtchn_status_arg q = {.domid = (uint16_t)e.domid, .port = e.port};
        struct kxen_ctl_evtchn_status_rep st = {0};
        bool unbound =
            kxen_ctl_open(NULL, &c) == 0 &&
            kxen_ctl_simple(c, KXEN_CTL_EVTCHN_STATUS, &q, sizeof(q), &st, sizeof(st), NULL) == 0 &&
            st.status == KXEN_EVTCHN_STAT_UNBOUND && st.remote_domid == 0;
        tap(unbound, "after unbind the guest's port is unbound for dom0 again");
        kxen_ctl_close(c);
    }
    if (xce)
        xenevtchn_close(xce);
    xc_domain_destroy(xch, e.domid);
    xc_interface_close(xch);
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

/* dump DOMID GPA LEN: a post-mortem look at guest memory (8-byte words). */
static int dump(uint32_t domid, uint64_t gpa, uint64_t len)
{
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    uint64_t first = gpa >> 12, last = (gpa + len - 1) >> 12;
    size_t n = (size_t)(last - first + 1);
    xen_pfn_t *pfns = calloc(n, sizeof(*pfns));
    for (size_t i = 0; fm && pfns && i < n; i++)
        pfns[i] = first + i;
    uint8_t *p = fm && pfns ? xenforeignmemory_map(fm, domid, PROT_READ, n, pfns, NULL) : NULL;
    if (!p) {
        perror("dump");
        return 1;
    }
    for (uint64_t a = gpa & ~7ull; a < gpa + len; a += 8)
        printf("%#llx: %#018llx\n", (unsigned long long)a,
               (unsigned long long)*(uint64_t *)(p + (a - (first << 12))));
    xenforeignmemory_unmap(fm, p, n);
    xenforeignmemory_close(fm);
    free(pfns);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "dump") == 0)
        return dump((uint32_t)strtoul(argv[2], NULL, 0), strtoull(argv[3], NULL, 0),
                    strtoull(argv[4], NULL, 0));
    if (argc >= 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "bench") == 0)
        return bench(argv[2], argc > 3 ? atol(argv[3]) : 2000);
    if (argc >= 3 && strcmp(argv[1], "stress") == 0)
        return stress(argv[2], argc > 3 ? atol(argv[3]) : 100000);
    fprintf(stderr,
            "usage: dom0libs-test check|bench|stress ECHO.elf [ROUNDS] | dump DOMID GPA LEN\n");
    return 2;
}
