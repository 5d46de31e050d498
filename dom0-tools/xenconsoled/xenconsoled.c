/* xenconsoled: the console backend of every guest of this host. It follows xenstore
 * (@introduceDomain, @releaseDomain, plus a slow rescan), maps each guest's console ring
 * (xenforeignmemory) and binds its console event channel (xenevtchn), appends the output to
 * <log dir>/console/guest-<name>.log (the log dir: kxen_log_dir(), docs/paths.md), and serves `xl
 * console` on <rundir>/xenconsoled.sock: "ATTACH <domid>\n" -> "OK\n" + the recent output, then
 * bytes both ways. One thread, one libevent loop; start-up, pid file and signals go through the
 * daemon skeleton. When kxend dies (a request-less connection to it hangs up) every console
 * closes, as its guests died with it, and the next rescan reaches the new kxend. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>

#include "kxen/ctl_client.h"
#include "kxen/daemon.h"
#include "kxen/daemon_event.h"
#include "kxen/log.h"
#include "kxen/util.h"

#include "cons_ring.h"
#include "console_log.h"

#define HISTORY_BYTES 16384 /* output replayed to a newly attached xl console */
#define MAX_CLIENTS 64
#define RESCAN_MS 1000

struct client {
    int fd;
    struct event *ev; /* readable: request line or input for the guest */
    bool attached;
    uint16_t domid;
    char line[64]; /* the request line, until '\n' */
    size_t line_len;
};

struct dom {
    uint16_t domid;
    char name[64];
    void *page;
    evtchn_port_t local_port;
    int log_fd;
    char log_path[PATH_MAX]; /* what console_log rotates */
    uint64_t log_max;        /* its bound: console/limit when set and smaller, else S.log_max */
    off_t log_start;         /* this incarnation's first byte in the log (after its separator) */
    struct cons_history hist;
    bool seen; /* still listed in xenstore at the last scan */
    bool more; /* drain stopped at its budget: data may be left in the ring */
    struct dom *next;
};

static struct {
    char rundir[PATH_MAX];
    char console_dir[PATH_MAX]; /* where the guest-NAME.log files go */
    struct xs_handle *xs;
    xenevtchn_handle *xce;
    xenforeignmemory_handle *fmem;
    struct kxen_ctl *alive;  /* to kxend, never used for requests: hangs up when it dies */
    struct event *alive_ev;  /* its hang-up */
    struct event *evtchn_ev; /* xce's fd */
    int listen_fd;
    struct event_base *base;
    struct event *drain_ev; /* zero-delay timer: rings a drain left data in (dom->more) */
    struct dom *doms;
    struct client clients[MAX_CLIENTS];
    uint16_t broken[64]; /* domains whose ring misbehaved: never re-attached */
    unsigned nr_broken;
    bool lost_store;  /* xenstored went away: we stop (docs/reliability.md) */
    uint64_t log_max; /* each console log's size bound (console_log.h) */
} S;

static bool is_broken(uint16_t domid)
{
    for (unsigned i = 0; i < S.nr_broken; i++)
        if (S.broken[i] == domid)
            return true;
    return false;
}

static struct dom *dom_find(uint16_t domid)
{
    for (struct dom *d = S.doms; d; d = d->next)
        if (d->domid == domid)
            return d;
    return NULL;
}

static char *xs_read_dom(uint16_t domid, const char *key)
{
    char p[96];
    unsigned len;
    snprintf(p, sizeof(p), "/local/domain/%u/%s", domid, key);
    return xs_read(S.xs, XBT_NULL, p, &len);
}

static void client_close(struct client *c)
{
    if (c->ev)
        event_free(c->ev);
    if (c->fd >= 0)
        close(c->fd);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* Output goes to clients without blocking: a client that does not read loses bytes. */
static void send_clients(uint16_t domid, const char *buf, size_t len)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &S.clients[i];
        if (c->fd >= 0 && c->attached && c->domid == domid)
            if (send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
                client_close(c);
    }
}

static void dom_detach(struct dom *d, const char *why)
{
    log_info("domain %u (%s): console closed (%s)", d->domid, d->name, why);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (S.clients[i].fd >= 0 && S.clients[i].attached && S.clients[i].domid == d->domid)
            client_close(&S.clients[i]);
    for (struct dom **pp = &S.doms; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    xenevtchn_unbind(S.xce, d->local_port);
    xenforeignmemory_unmap(S.fmem, d->page, 1);
    if (d->log_fd >= 0)
        close(d->log_fd);
    cons_history_free(&d->hist);
    klog_dom_forget(d->domid); /* what its lines had suppressed */
    free(d);
}

static void mark_broken(struct dom *d, const char *why)
{
    log_err("domain %u (%s): %s; console disconnected", d->domid, d->name, why);
    if (S.nr_broken < ARRAY_SIZE(S.broken))
        S.broken[S.nr_broken++] = d->domid;
    dom_detach(d, "broken ring");
}

/* Drains the guest's output into the log, the history and attached clients. */
/* One drain moves at most this much, so that a guest that writes without pause cannot keep
 * the daemon from serving the other consoles; the rest goes on the next loop turn. */
#define DRAIN_BUDGET_CHUNKS 32

static int dom_drain(struct dom *d)
{
    char buf[2048];
    bool any = false;
    d->more = false;
    for (int chunk = 0;; chunk++) {
        if (chunk == DRAIN_BUDGET_CHUNKS) {
            d->more = true;
            break;
        }
        ssize_t n = cons_ring_read_out(d->page, buf, sizeof(buf));
        if (n < 0) {
            mark_broken(d, "output ring indices are impossible (producer overran the ring)");
            return -EPROTO;
        }
        if (n == 0)
            break;
        any = true;
        int old_fd = d->log_fd;
        int wr = d->log_fd >= 0
                     ? console_log_append(&d->log_fd, d->log_path, d->log_max, buf, (size_t)n)
                     : 0;
        if (d->log_fd != old_fd) /* rotated: the new file is all this incarnation's */
            d->log_start = 0;
        if (wr < 0)
            log_dom_warn(d->domid, "domain %u: console log write failed: %s", d->domid,
                         strerror(-wr));
        cons_history_add(&d->hist, buf, n);
        send_clients(d->domid, buf, n);
    }
    if (any) /* the guest may be waiting for room in the ring */
        xenevtchn_notify(S.xce, d->local_port);
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Xen's console/limit: the most bytes of a domain's output xenconsoled keeps; here the size
 * at which its log is rotated (never above the daemon's own bound). Read at attach and at
 * each rescan, so a limit written later applies within a second. */
static void dom_apply_limit(struct dom *d)
{
    char *s = xs_read_dom(d->domid, "console/limit");
    unsigned long v;
    d->log_max = s && parse_uint(s, ULONG_MAX, &v) == 0 && v > 0 && v < S.log_max ? v : S.log_max;
    free(s);
}

/* When the toolstack created the domain (/vm/<uuid>/start_time, as Xen's libxl writes it),
 * seconds since the epoch; 0 when it is not there. */
static double start_time(uint16_t domid)
{
    char *vm = xs_read_dom(domid, "vm");
    double t = 0;
    if (vm && vm[0] == '/') {
        char p[256];
        unsigned len;
        snprintf(p, sizeof(p), "%s/start_time", vm);
        char *v = xs_read(S.xs, XBT_NULL, p, &len);
        if (v)
            t = strtod(v, NULL);
        free(v);
    }
    free(vm);
    return t;
}

static int dom_attach(uint16_t domid)
{
    char *ref = xs_read_dom(domid, "console/ring-ref");
    char *port = xs_read_dom(domid, "console/port");
    char *name = xs_read_dom(domid, "name");
    unsigned long pfn, rport;
    int rc = -ENOENT;
    struct dom *d = NULL;
    if (!ref || !port || !S.fmem)
        goto out; /* not built yet, or no kxend: the next event or rescan retries */
    rc = -EINVAL;
    if (parse_uint(ref, ULONG_MAX, &pfn) < 0 || parse_uint(port, 4095, &rport) < 0) {
        log_dom_warn(domid, "domain %u: bad console/ring-ref '%s' or console/port '%s'", domid, ref,
                     port);
        goto out;
    }
    rc = -ENOMEM;
    d = calloc(1, sizeof(*d));
    if (!d || cons_history_init(&d->hist, HISTORY_BYTES) < 0)
        goto out;
    d->domid = domid;
    d->log_fd = -1;
    dom_apply_limit(d);
    /* The name becomes a file name: only xl's name alphabet, else fall back to the id. */
    if (name && name[0] && name[0] != '.' && strlen(name) < sizeof(d->name) &&
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+@:") ==
            strlen(name))
        snprintf(d->name, sizeof(d->name), "%s", name);
    else
        snprintf(d->name, sizeof(d->name), "domain-%u", domid);
    xen_pfn_t gfn = pfn;
    int err = 0;
    d->page = xenforeignmemory_map(S.fmem, domid, PROT_READ | PROT_WRITE, 1, &gfn, &err);
    if (!d->page || err) {
        rc = -(err ? abs(err) : errno ? errno : EIO);
        log_dom_warn(domid, "domain %u: cannot map console ring pfn %lu: %s", domid, pfn,
                     strerror(-rc));
        if (d->page)
            xenforeignmemory_unmap(S.fmem, d->page, 1);
        goto out;
    }
    xenevtchn_port_or_error_t lp = xenevtchn_bind_interdomain(S.xce, domid, rport);
    if (lp < 0) {
        rc = -(errno ? errno : EIO);
        log_dom_warn(domid, "domain %u: cannot bind console event channel %lu: %s", domid, rport,
                     strerror(-rc));
        xenforeignmemory_unmap(S.fmem, d->page, 1);
        goto out;
    }
    d->local_port = lp;
    if (snprintf(d->log_path, sizeof(d->log_path), "%s/guest-%s.log", S.console_dir, d->name) <
        (int)sizeof(d->log_path))
        d->log_fd = console_log_open(d->log_path);
    if (d->log_fd < 0)
        log_dom_warn(domid, "domain %u: cannot open console log %s: %s", domid, d->log_path,
                     strerror(-d->log_fd));
    int64_t start =
        d->log_fd >= 0 ? console_log_incarnation(d->log_fd, domid, d->name, start_time(domid)) : 0;
    d->log_start = start > 0 ? (off_t)start : 0;
    char tty[PATH_MAX];
    snprintf(tty, sizeof(tty), "/local/domain/%u/console/tty", domid);
    char sock[PATH_MAX];
    int sl = snprintf(sock, sizeof(sock), "%s/xenconsoled.sock", S.rundir);
    xs_write(S.xs, XBT_NULL, tty, sock, sl);
    d->next = S.doms;
    S.doms = d;
    log_info("domain %u (%s): console attached (pfn %lu, port %lu -> local %u)", domid, d->name,
             pfn, rport, (unsigned)lp);
    d = NULL;
    rc = 0;
    dom_drain(S.doms); /* output written before we attached */
out:
    if (d) {
        cons_history_free(&d->hist);
        free(d);
    }
    free(ref);
    free(port);
    free(name);
    return rc;
}

static void on_evtchn(evutil_socket_t fd, short what, void *arg);
static void on_kxend_gone(evutil_socket_t fd, short what, void *arg);

/* Opens kxend's libraries and follows their events; 0 or -errno (kxend not running). */
static int hv_connect(void)
{
    int rc = kxen_ctl_open(S.rundir, &S.alive);
    if (rc == 0 && !(S.xce = xenevtchn_open(NULL, 0)))
        rc = -(errno ? errno : ECONNREFUSED);
    if (rc == 0 && !(S.fmem = xenforeignmemory_open(NULL, 0)))
        rc = -(errno ? errno : ECONNREFUSED);
    if (rc == 0) {
        S.evtchn_ev = event_new(S.base, xenevtchn_fd(S.xce), EV_READ | EV_PERSIST, on_evtchn, NULL);
        S.alive_ev = event_new(S.base, kxen_ctl_fd(S.alive), EV_READ, on_kxend_gone, NULL);
        if (!S.evtchn_ev || !S.alive_ev || event_add(S.evtchn_ev, NULL) < 0 ||
            event_add(S.alive_ev, NULL) < 0)
            rc = -ENOMEM;
    }
    return rc;
}

static void hv_disconnect(void)
{
    while (S.doms)
        dom_detach(S.doms, "kxend went away");
    if (S.evtchn_ev)
        event_free(S.evtchn_ev);
    if (S.alive_ev)
        event_free(S.alive_ev);
    if (S.fmem)
        xenforeignmemory_close(S.fmem);
    if (S.xce)
        xenevtchn_close(S.xce);
    if (S.alive)
        kxen_ctl_close(S.alive);
    S.evtchn_ev = S.alive_ev = NULL;
    S.fmem = NULL;
    S.xce = NULL;
    S.alive = NULL;
}

/* The guests died with kxend: their consoles close (their logs stay) and the mappings that
 * kept their RAM alive go. */
static void on_kxend_gone(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    log_warn("kxend went away, and its guests with it: closing every console; new domains' "
             "consoles attach once a new kxend runs");
    hv_disconnect();
}

/* Attaches new domains and detaches the ones xenstore no longer lists. */
static void rescan(void)
{
    if (!S.alive && hv_connect() < 0) {
        hv_disconnect();
        return; /* no kxend yet: the next rescan tries again */
    }
    unsigned n = 0;
    char **ents = xs_directory(S.xs, XBT_NULL, "/local/domain", &n);
    for (struct dom *d = S.doms; d; d = d->next)
        d->seen = false;
    for (unsigned i = 0; ents && i < n; i++) {
        unsigned long id;
        if (parse_uint(ents[i], 0x7fef, &id) < 0 || id == 0)
            continue;
        struct dom *d = dom_find((uint16_t)id);
        if (d) {
            d->seen = true;
            dom_apply_limit(d);
        } else if (!is_broken((uint16_t)id) && dom_attach((uint16_t)id) == 0)
            S.doms->seen = true;
    }
    free(ents);
    for (struct dom *d = S.doms, *next; d; d = next) {
        next = d->next;
        if (!d->seen || !xs_is_domain_introduced(S.xs, d->domid))
            dom_detach(d, "domain released");
    }
}

static void handle_evtchn(void)
{
    xenevtchn_port_or_error_t port = xenevtchn_pending(S.xce);
    if (port < 0)
        return;
    xenevtchn_unmask(S.xce, port);
    for (struct dom *d = S.doms; d; d = d->next)
        if (d->local_port == (evtchn_port_t)port) {
            dom_drain(d);
            return;
        }
}

/* What a new client sees first: the tail of this incarnation's part of the log (it survives
 * a xenconsoled restart; an earlier domain of the same name is not replayed), or the
 * in-memory history when there is no log. */
static size_t replay_tail(const struct dom *d, char *out)
{
    if (d->log_fd >= 0) {
        struct stat st;
        if (fstat(d->log_fd, &st) == 0 && st.st_size >= d->log_start) {
            off_t start = st.st_size > HISTORY_BYTES ? st.st_size - HISTORY_BYTES : 0;
            start = start > d->log_start ? start : d->log_start;
            ssize_t n = pread(d->log_fd, out, (size_t)(st.st_size - start), start);
            if (n >= 0)
                return (size_t)n;
        }
    }
    return cons_history_copy(&d->hist, out);
}

static void client_request(struct client *c)
{
    unsigned long id;
    char reply[160];
    c->line[c->line_len] = '\0';
    if (strncmp(c->line, "ATTACH ", 7) != 0 || parse_uint(c->line + 7, 0x7fef, &id) < 0) {
        snprintf(reply, sizeof(reply), "ERR bad request (expected 'ATTACH <domid>')\n");
        send(c->fd, reply, strlen(reply), MSG_NOSIGNAL);
        client_close(c);
        return;
    }
    struct dom *d = dom_find((uint16_t)id);
    if (!d && !is_broken((uint16_t)id) && dom_attach((uint16_t)id) == 0)
        d = dom_find((uint16_t)id);
    if (!d) {
        snprintf(reply, sizeof(reply), "ERR domain %lu has no console here (%s)\n", id,
                 is_broken((uint16_t)id) ? "its ring misbehaved"
                                         : "unknown domain or console not set up yet");
        send(c->fd, reply, strlen(reply), MSG_NOSIGNAL);
        client_close(c);
        return;
    }
    c->attached = true;
    c->domid = d->domid;
    char *hist = malloc(HISTORY_BYTES + 3);
    if (!hist) {
        client_close(c);
        return;
    }
    memcpy(hist, "OK\n", 3);
    size_t n = replay_tail(d, hist + 3);
    /* The reply and replay are small: a blocking send keeps them whole. */
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
    if (kxen_write_full(c->fd, hist, n + 3) < 0)
        client_close(c);
    else
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    free(hist);
}

static void client_readable(struct client *c)
{
    char buf[1024];
    if (!c->attached) {
        ssize_t n = read(c->fd, c->line + c->line_len, sizeof(c->line) - 1 - c->line_len);
        if (n <= 0) {
            client_close(c);
            return;
        }
        c->line_len += n;
        char *nl = memchr(c->line, '\n', c->line_len);
        if (nl) {
            *nl = '\0';
            c->line_len = nl - c->line;
            client_request(c);
        } else if (c->line_len >= sizeof(c->line) - 1) {
            client_close(c);
        }
        return;
    }
    struct dom *d = dom_find(c->domid);
    if (!d) {
        client_close(c);
        return;
    }
    /* Only as much as the guest's input ring takes: the rest waits in the socket. */
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n <= 0) {
        client_close(c);
        return;
    }
    ssize_t w = cons_ring_write_in(d->page, buf, n);
    if (w < 0) {
        mark_broken(d, "input ring indices are impossible");
        return;
    }
    if (w < n)
        log_debug("domain %u: input ring full, %zd bytes dropped", d->domid, n - w);
    xenevtchn_notify(S.xce, d->local_port);
}

static void on_client(evutil_socket_t fd, short what, void *arg);

static void accept_client(void)
{
    int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (S.clients[i].fd < 0) {
            struct client *c = &S.clients[i];
            c->fd = fd;
            c->ev = event_new(S.base, fd, EV_READ | EV_PERSIST, on_client, c);
            if (!c->ev || event_add(c->ev, NULL) < 0)
                client_close(c);
            return;
        }
    const char *busy = "ERR too many console clients\n";
    send(fd, busy, strlen(busy), MSG_NOSIGNAL);
    close(fd);
}

static void handle_watch(void)
{
    char **w;
    bool changed = false;
    while ((w = xs_check_watch(S.xs)) != NULL) {
        changed = true;
        free(w);
    }
    /* A dead connection stays readable: polling it again would spin. Without xenstored no
     * console can be attached or followed, and a new xenstored starts empty. */
    if (errno != EAGAIN && !S.lost_store) {
        log_err("lost the connection to xenstored (%s): stopping; consoles can no longer "
                "follow domains (restart the services: kxen-services restart)",
                strerror(errno));
        S.lost_store = true;
        event_base_loopbreak(S.base);
        return;
    }
    if (changed)
        rescan();
}

static int listen_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenconsoled.sock", S.rundir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    chmod(sa.sun_path, 0600);
    return fd;
}

static struct kxen_daemon daemon_state;

static void usage(FILE *f)
{
    fprintf(f, "Usage: xenconsoled [-N] [--rundir DIR] [-F PIDFILE] [--log-level L] "
               "[--log-file FILE]\n");
}

/* The event loop (libevent). Drains stopped at their budget continue from a zero-delay
 * timer, which libevent runs only after polling again, so sockets and other consoles are
 * served between two slices of a busy console. */
static void schedule_drains(void)
{
    for (struct dom *d = S.doms; d; d = d->next)
        if (d->more) {
            static const struct timeval now = {0, 0};
            evtimer_add(S.drain_ev, &now);
            return;
        }
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    for (struct dom *d = S.doms, *next; d; d = next) {
        next = d->next;
        if (d->more)
            dom_drain(d);
    }
    schedule_drains();
}

/* Every RESCAN_MS: catch what a missed watch event or a lost notification left behind. */
static void on_rescan(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    rescan();
    for (struct dom *d = S.doms, *next; d; d = next) {
        next = d->next;
        dom_drain(d);
    }
    schedule_drains();
}

static void on_xenstore(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    handle_watch();
    schedule_drains();
}

static void on_evtchn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    handle_evtchn();
    schedule_drains();
}

static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    accept_client();
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    client_readable(arg);
    schedule_drains();
}

/* Registers the daemon's fds and timers on S.base; they stay until event_base_free(). */
static int loop_setup(struct event **evs, size_t nr)
{
    static const struct timeval rescan_tv = {RESCAN_MS / 1000, (RESCAN_MS % 1000) * 1000};
    if (nr < 3)
        return -EINVAL;
    evs[0] = event_new(S.base, S.listen_fd, EV_READ | EV_PERSIST, on_listen, NULL);
    evs[1] = event_new(S.base, xs_fileno(S.xs), EV_READ | EV_PERSIST, on_xenstore, NULL);
    evs[2] = event_new(S.base, -1, EV_PERSIST, on_rescan, NULL);
    S.drain_ev = evtimer_new(S.base, on_drain, NULL);
    for (int i = 0; i < 3; i++)
        if (!evs[i] || event_add(evs[i], i == 2 ? &rescan_tv : NULL) < 0)
            return -ENOMEM;
    return S.drain_ev ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        S.clients[i].fd = -1;
    struct kxen_daemon *dm = &daemon_state;
    struct kxen_daemon_opts o;
    kxen_daemon_init(dm, "xenconsoled");
    int rc = kxen_daemon_parse_args(dm, argc, argv, NULL, NULL, NULL, &o);
    if (rc == KXEN_DAEMON_ARGS_HELP) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) {
        if (dm->msg[0])
            fprintf(stderr, "xenconsoled: %s\n", dm->msg);
        usage(stderr);
        return 2;
    }
    S.log_max = console_log_limit();
    int rrc = kxen_rundir(S.rundir, sizeof(S.rundir));
    if (rrc == 0)
        rrc = kxen_rundir_create();
    if (rrc < 0) {
        fprintf(stderr, "xenconsoled: run directory %s: %s\n", S.rundir, kxen_rundir_strerror(rrc));
        return 1;
    }
    setenv("XENSTORED_RUNDIR", S.rundir, 0);
    if (kxen_daemon_log_init(dm, (enum klog_level)o.level, o.log_file) < 0) {
        fprintf(stderr, "xenconsoled: %s\n", dm->msg);
        return 1;
    }
    char ldir[PATH_MAX];
    if (kxen_log_dir(S.rundir, ldir, sizeof(ldir)) < 0 ||
        snprintf(S.console_dir, sizeof(S.console_dir), "%s/console", ldir) >=
            (int)sizeof(S.console_dir)) {
        KXEN_DAEMON_FAIL(dm, 1, "log directory path too long");
        return 1;
    }
    if ((mkdir(ldir, 0755) < 0 && errno != EEXIST) ||
        (mkdir(S.console_dir, 0700) < 0 && errno != EEXIST)) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot create %s: %s", S.console_dir, strerror(errno));
        return 1;
    }
    /* The lock comes before the socket, which listen_socket() replaces. */
    if (kxen_daemon_lock(dm, S.rundir, o.pid_file) < 0 || kxen_daemon_detach(dm, o.no_fork) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, NULL);
        kxen_daemon_cleanup(dm);
        return 1;
    }
    if (dm->is_parent) {
        if (dm->exit_status)
            fprintf(stderr, "xenconsoled: %s\n", dm->msg);
        return dm->exit_status;
    }
    rc = 1;
    struct event *evs[3] = {NULL};
    struct kxen_daemon_stop stop = {0};
    int r;
    S.base = event_base_new();
    if (!S.base) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot create the event loop");
        goto out;
    }
    if (kxen_daemon_signals(dm, NULL) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, NULL);
        goto out;
    }
    S.xs = xs_open(0);
    if (!S.xs || (r = hv_connect()) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot open %s: %s", !S.xs ? "xenstore" : "kxend's libraries",
                         strerror(!S.xs ? errno : -r));
        goto out;
    }
    if (!xs_watch(S.xs, "@introduceDomain", "intro") ||
        !xs_watch(S.xs, "@releaseDomain", "release")) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot watch @introduceDomain/@releaseDomain: %s",
                         strerror(errno));
        goto out;
    }
    S.listen_fd = listen_socket();
    if (S.listen_fd < 0) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot listen on %s/xenconsoled.sock: %s", S.rundir,
                         strerror(-S.listen_fd));
        goto out;
    }
    if ((r = loop_setup(evs, ARRAY_SIZE(evs))) < 0 ||
        (r = kxen_daemon_stop_watch(&stop, S.base)) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, "cannot set up the event loop: %s", strerror(-r));
        goto out;
    }
    if (kxen_daemon_write_pid(dm) < 0) {
        KXEN_DAEMON_FAIL(dm, 1, NULL);
        goto out;
    }
    if (kxen_daemon_ready(dm, dm->logs_to_file) < 0)
        log_warn("%s", dm->msg);
    log_info("serving consoles in %s", S.rundir);
    rescan();
    schedule_drains();
    rc = event_base_dispatch(S.base) < 0 || S.lost_store ? 1 : 0;
    if (stop.signal)
        log_info("signal %d: stopping", stop.signal);
    log_info("stopping");
out:
    while (S.doms)
        dom_detach(S.doms, "xenconsoled stopping");
    hv_disconnect();
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (S.clients[i].fd >= 0)
            client_close(&S.clients[i]);
    for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
        if (evs[i])
            event_free(evs[i]);
    if (S.drain_ev)
        event_free(S.drain_ev);
    kxen_daemon_stop_unwatch(&stop);
    if (S.base)
        event_base_free(S.base);
    libevent_global_shutdown();
    if (S.listen_fd > 0) {
        char sp[PATH_MAX + 32];
        snprintf(sp, sizeof(sp), "%s/xenconsoled.sock", S.rundir);
        unlink(sp);
        close(S.listen_fd);
    }
    if (S.xs)
        xs_close(S.xs);
    kxen_daemon_cleanup(dm);
    return rc;
}
