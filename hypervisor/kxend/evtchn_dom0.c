/* dom0 ends of event channels: the host's processes are domid 0, with a port table of their own.
 * Each bound dom0 port has two eventfds: kxend writes `notify` when the guest end sends, the
 * client writes `kick` to send. A kick eventfd sits in two epoll sets: the guest end's
 * (evtchn_wait_fd, where an idle vCPU thread of that domain waits and takes the kick itself,
 * no thread hop) and, behind it, the poller thread's set, which takes the kicks of busy or
 * thread-less domains. The fast path is eventfd I/O only. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <kxen/xen.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/evtchn.h"
#include "evtchn_internal.h"

/* The calling thread's held notifies (evtchn_dom0_defer_begin): dom0 ports with the
 * generation they had, so a port closed (and maybe re-used) before the flush is skipped. */
#define DEFER_MAX 16
static __thread struct {
    bool on;
    unsigned n;
    uint32_t port[DEFER_MAX], gen[DEFER_MAX];
} defer;

static void notify_write(uint32_t port)
{
    const struct evtchn_port *p = &evtchn_dom0_tab.ports[port];
    uint64_t one = 1;
    if (p->notify_fd >= 0 && write(p->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_dom_warn(0, "evtchn: dom0 port %u notify write: %s", port, strerror(errno));
}

void evtchn_dom0_notify_locked(uint32_t port)
{
    uint32_t gen = evtchn_dom0_tab.ports[port].gen;
    if (!defer.on) {
        notify_write(port);
        return;
    }
    for (unsigned i = 0; i < defer.n; i++)
        if (defer.port[i] == port && defer.gen[i] == gen)
            return; /* one eventfd write wakes the process once anyway */
    if (defer.n == DEFER_MAX) {
        notify_write(port);
        return;
    }
    defer.port[defer.n] = port;
    defer.gen[defer.n++] = gen;
}

void evtchn_dom0_defer_begin(void)
{
    defer.on = true;
}

unsigned evtchn_dom0_deferred(void)
{
    return defer.n;
}

void evtchn_dom0_defer_flush(void)
{
    defer.on = false;
    if (!defer.n)
        return;
    pthread_mutex_lock(&evtchn_lock);
    for (unsigned i = 0; i < defer.n; i++) {
        const struct evtchn_port *p = &evtchn_dom0_tab.ports[defer.port[i]];
        if (p->gen == defer.gen[i] && p->state != ECS_FREE)
            notify_write(defer.port[i]);
    }
    pthread_mutex_unlock(&evtchn_lock);
    defer.n = 0;
}

/* evtchn_lock held: one ready kick eventfd (epoll data: port | gen << 32) is read and the
 * guest end raised. Both the poller and a domain's idle vCPU thread may see the same event
 * (level-triggered, two sets): whoever reads the counter first raises, the other reads
 * nothing, so every kick is raised exactly once. */
static void dom0_kick_locked(uint64_t data)
{
    uint32_t port = (uint32_t)data, gen = (uint32_t)(data >> 32);
    if (evtchn_port_check(port))
        return;
    struct evtchn_port *p = &evtchn_dom0_tab.ports[port];
    if (p->gen != gen || p->kick_fd < 0)
        return; /* closed (and maybe re-used) since the event was queued */
    uint64_t cnt;
    if (read(p->kick_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
        return;
    if (p->state == ECS_INTERDOMAIN)
        evtchn_raise_locked(p->peer, p->remote_port);
}

void evtchn_dom0_kicks(const struct epoll_event *ev, int n)
{
    pthread_mutex_lock(&evtchn_lock);
    for (int i = 0; i < n; i++)
        dom0_kick_locked(ev[i].data.u64);
    pthread_mutex_unlock(&evtchn_lock);
}

int evtchn_wait_fd(struct domain *d)
{
    pthread_mutex_lock(&evtchn_lock);
    int fd = d->evtchn ? d->evtchn->kick_epfd : -1;
    pthread_mutex_unlock(&evtchn_lock);
    return fd;
}

/* EPOLLEXCLUSIVE on both sets: the kernel walks an eventfd's waiters in registration order and
 * stops at the first exclusive one with a thread waiting, so the peer's set (added first) wins
 * when its vCPU thread is idle in it, and the poller gets the kick otherwise. */
void evtchn_dom0_steer_locked(uint32_t dom0_port)
{
    struct evtchn_port *p = &evtchn_dom0_tab.ports[dom0_port];
    if (p->kick_fd < 0 || p->state != ECS_INTERDOMAIN || !p->peer || p->peer->kick_epfd < 0 ||
        evtchn_dom0_epoll_fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
                             .data.u64 = dom0_port | ((uint64_t)p->gen << 32)};
    epoll_ctl(evtchn_dom0_epoll_fd, EPOLL_CTL_DEL, p->kick_fd, NULL);
    if (epoll_ctl(p->peer->kick_epfd, EPOLL_CTL_ADD, p->kick_fd, &ev) < 0)
        log_warn("evtchn: dom0 port %u: kicks go through the poller only: %s", dom0_port,
                 strerror(errno));
    if (epoll_ctl(evtchn_dom0_epoll_fd, EPOLL_CTL_ADD, p->kick_fd, &ev) < 0)
        log_err("evtchn: dom0 port %u: poller registration: %s", dom0_port, strerror(errno));
}

void evtchn_dom0_unsteer_locked(struct evtchn_domain *guest, const struct evtchn_port *dom0_p)
{
    /* The client keeps its dup of the eventfd open: closing ours would not drop it. */
    if (guest->kick_epfd >= 0 && dom0_p->kick_fd >= 0)
        epoll_ctl(guest->kick_epfd, EPOLL_CTL_DEL, dom0_p->kick_fd, NULL);
}

/* One thread for every dom0 kick eventfd whose guest end has no idle vCPU thread waiting. */
static void *dom0_poller(void *arg)
{
    (void)arg;
    for (;;) {
        struct epoll_event ev[32];
        int n = epoll_wait(evtchn_dom0_epoll_fd, ev, ARRAY_SIZE(ev), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_err("evtchn: dom0 poller epoll_wait: %s", strerror(errno));
            return NULL;
        }
        evtchn_dom0_kicks(ev, n);
    }
}

static int dom0_poller_start_locked(void)
{
    if (evtchn_dom0_epoll_fd >= 0)
        return 0;
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return -errno;
    evtchn_dom0_epoll_fd = fd;
    pthread_t t;
    int rc = pthread_create(&t, NULL, dom0_poller, NULL);
    if (rc) {
        close(fd);
        evtchn_dom0_epoll_fd = -1;
        return -rc;
    }
    pthread_detach(t);
    evtchn_dom0_tab.domid = 0;
    return 0;
}

/* Creates the port's eventfds, registers the kick end and dups both for the client. */
static int dom0_port_fds_locked(uint32_t port, struct evtchn_dom0_fds *out)
{
    struct evtchn_port *p = &evtchn_dom0_tab.ports[port];
    int rc = dom0_poller_start_locked();
    if (rc)
        return rc;
    p->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    out->notify_fd = p->notify_fd >= 0 ? fcntl(p->notify_fd, F_DUPFD_CLOEXEC, 0) : -1;
    out->kick_fd = p->kick_fd >= 0 ? fcntl(p->kick_fd, F_DUPFD_CLOEXEC, 0) : -1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
                             .data.u64 = port | ((uint64_t)p->gen << 32)};
    if (out->notify_fd < 0 || out->kick_fd < 0 ||
        epoll_ctl(evtchn_dom0_epoll_fd, EPOLL_CTL_ADD, p->kick_fd, &ev) < 0) {
        rc = -errno;
        if (out->notify_fd >= 0)
            close(out->notify_fd);
        if (out->kick_fd >= 0)
            close(out->kick_fd);
        out->notify_fd = out->kick_fd = -1;
        return rc ? rc : -EMFILE;
    }
    evtchn_dom0_steer_locked(port); /* bound already when dom0 binds to a guest's port */
    return 0;
}

/* Allocates a dom0 port, lets `link` bind it, gives it eventfds; undone on any failure. */
static int dom0_bind(int (*link)(uint32_t port, void *ctx), void *ctx, const void *owner,
                     uint32_t *port, struct evtchn_dom0_fds *fds)
{
    pthread_mutex_lock(&evtchn_lock);
    int rc = evtchn_port_alloc(&evtchn_dom0_tab, port);
    if (rc == 0 && (rc = link(*port, ctx)) != 0)
        evtchn_port_free(&evtchn_dom0_tab, *port, NULL);
    else if (rc == 0 && (rc = dom0_port_fds_locked(*port, fds)) != 0)
        evtchn_close_locked(&evtchn_dom0_tab, *port, NULL);
    if (rc == 0)
        evtchn_dom0_tab.ports[*port].owner = owner;
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

int evtchn_dom0_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, const void *owner,
                                 uint32_t *port, struct evtchn_dom0_fds *fds)
{
    fds->notify_fd = fds->kick_fd = -1;
    if (remote_dom == 0 || remote_dom >= DOMID_FIRST_RESERVED)
        return -ESRCH; /* dom0 to dom0 is never needed by a backend */
    struct domain *rd = domain_get(remote_dom);
    if (!rd)
        return -ESRCH;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *rt = rd->evtchn;
    uint32_t lport = 0;
    int rc =
        rt ? evtchn_bind_interdomain_locked(&evtchn_dom0_tab, rt, remote_port, &lport) : -ESRCH;
    if (rc == 0 && (rc = dom0_port_fds_locked(lport, fds)) != 0)
        evtchn_close_locked(&evtchn_dom0_tab, lport, NULL);
    if (rc == 0) {
        evtchn_dom0_tab.ports[lport].owner = owner;
        evtchn_raise_locked(&evtchn_dom0_tab,
                            lport); /* as for guests: a conservative first event */
        *port = lport;
    }
    pthread_mutex_unlock(&evtchn_lock);
    domain_put(rd);
    return rc;
}

static int dom0_link_unbound(uint32_t port, void *arg)
{
    evtchn_dom0_tab.ports[port].state = ECS_UNBOUND;
    evtchn_dom0_tab.ports[port].remote_dom = *(uint16_t *)arg;
    return 0;
}

int evtchn_dom0_bind_unbound(uint16_t remote_dom, const void *owner, uint32_t *port,
                             struct evtchn_dom0_fds *fds)
{
    fds->notify_fd = fds->kick_fd = -1;
    if (remote_dom >= DOMID_FIRST_RESERVED)
        return -ESRCH;
    return dom0_bind(dom0_link_unbound, &remote_dom, owner, port, fds);
}

static int dom0_link_virq(uint32_t port, void *arg)
{
    unsigned virq = *(unsigned *)arg;
    if (evtchn_dom0_tab.virq_port[0][virq])
        return -EEXIST;
    evtchn_dom0_tab.ports[port].state = ECS_VIRQ;
    evtchn_dom0_tab.ports[port].virq = virq;
    evtchn_dom0_tab.ports[port].virq_vcpu = 0;
    evtchn_dom0_tab.virq_port[0][virq] = port;
    return 0;
}

int evtchn_dom0_bind_virq(unsigned virq, const void *owner, uint32_t *port,
                          struct evtchn_dom0_fds *fds)
{
    fds->notify_fd = fds->kick_fd = -1;
    if (virq >= NR_VIRQS || !evtchn_virq_is_global(virq))
        return -EINVAL; /* per-vCPU VIRQs mean nothing for host processes */
    return dom0_bind(dom0_link_virq, &virq, owner, port, fds);
}

int evtchn_dom0_close(uint32_t port, const void *owner)
{
    if (evtchn_port_check(port))
        return -EINVAL;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_port *p = &evtchn_dom0_tab.ports[port];
    int rc = p->state == ECS_FREE || p->owner != owner
                 ? -ENOTCONN
                 : evtchn_close_locked(&evtchn_dom0_tab, port, NULL);
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

void evtchn_dom0_close_all(const void *owner)
{
    pthread_mutex_lock(&evtchn_lock);
    for (uint32_t p = 1; p < KXEN_EVTCHN_NR_PORTS; p++)
        if (evtchn_dom0_tab.ports[p].state != ECS_FREE && evtchn_dom0_tab.ports[p].owner == owner)
            evtchn_close_locked(&evtchn_dom0_tab, p, NULL);
    pthread_mutex_unlock(&evtchn_lock);
}

void evtchn_dom0_send_virq(unsigned virq)
{
    if (virq >= NR_VIRQS)
        return;
    pthread_mutex_lock(&evtchn_lock);
    if (evtchn_dom0_tab.virq_port[0][virq])
        evtchn_raise_locked(&evtchn_dom0_tab, evtchn_dom0_tab.virq_port[0][virq]);
    pthread_mutex_unlock(&evtchn_lock);
}
