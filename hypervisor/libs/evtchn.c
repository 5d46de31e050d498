/* libxenevtchn over kxend: binds go through the control socket and return two eventfds per
 * port; events then flow as eventfd reads and writes only. The handle's epoll fd watches the
 * notify eventfds of bound, unmasked ports; a fired port is masked until xenevtchn_unmask,
 * which is how Xen's evtchn device behaves. Ports are registered EPOLLONESHOT: reporting an
 * event disarms the port in the kernel, so masking costs no system call and unmasking one. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_evtchn.h"
#include "xenevtchn.h"

#define EVTCHN_LIB_NR_PORTS 4096u /* the 2-level ABI's port space */

struct evtchn_lib_port {
    int notify_fd; /* -1: not bound by this handle */
    int kick_fd;
    bool masked;
};

struct xenevtchn_handle {
    struct kxen_ctl *ctl;
    int epfd;
    bool cloexec;
    int restrict_domid; /* -1 = any */
    pthread_mutex_t lock;
    struct evtchn_lib_port ports[EVTCHN_LIB_NR_PORTS];
    /* Ports that had fired, unreported, when they were unbound. Xen's /dev/xen/evtchn keeps
     * such a port in its ring, so a caller that polled the fd before the unbind still reads
     * it; stale_fd (in the epoll set, readable while the list is not empty) does the same. */
    uint32_t stale[16];
    unsigned nr_stale;
    int stale_fd;
};

static int fail(int err)
{
    errno = err;
    return -1;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger;
    xenevtchn_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->cloexec = !(flags & XENEVTCHN_NO_CLOEXEC);
    h->restrict_domid = -1;
    for (unsigned i = 0; i < EVTCHN_LIB_NR_PORTS; i++)
        h->ports[i].notify_fd = h->ports[i].kick_fd = -1;
    pthread_mutex_init(&h->lock, NULL);
    h->epfd = h->stale_fd = -1;
    int rc = kxen_ctl_open(NULL, &h->ctl);
    if (rc == 0 && (h->epfd = epoll_create1(h->cloexec ? EPOLL_CLOEXEC : 0)) < 0)
        rc = -errno;
    if (rc == 0 && (h->stale_fd = eventfd(0, EFD_NONBLOCK | (h->cloexec ? EFD_CLOEXEC : 0))) < 0)
        rc = -errno;
    struct epoll_event st = {.events = EPOLLIN, .data.u32 = EVTCHN_LIB_NR_PORTS};
    if (rc == 0 && epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stale_fd, &st) < 0)
        rc = -errno;
    if (rc) {
        if (h->stale_fd >= 0)
            close(h->stale_fd);
        if (h->epfd >= 0)
            close(h->epfd);
        if (h->ctl)
            kxen_ctl_close(h->ctl);
        pthread_mutex_destroy(&h->lock);
        free(h);
        errno = -rc;
        return NULL;
    }
    return h;
}

static void port_forget(xenevtchn_handle *h, uint32_t port)
{
    struct evtchn_lib_port *p = &h->ports[port];
    if (p->notify_fd >= 0) {
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->notify_fd, NULL);
        close(p->notify_fd);
    }
    if (p->kick_fd >= 0)
        close(p->kick_fd);
    p->notify_fd = p->kick_fd = -1;
    p->masked = false;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    if (!xce)
        return 0;
    /* kxend closes every port of this connection when the socket goes. */
    for (unsigned i = 0; i < EVTCHN_LIB_NR_PORTS; i++)
        port_forget(xce, i);
    close(xce->stale_fd);
    close(xce->epfd);
    kxen_ctl_close(xce->ctl);
    pthread_mutex_destroy(&xce->lock);
    free(xce);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    return xce->epfd;
}

static xenevtchn_port_or_error_t bind_op(xenevtchn_handle *h, uint32_t op,
                                         const struct kxen_ctl_evtchn_bind *req)
{
    struct kxen_ctl_evtchn_port_rep rep;
    uint32_t len = 0;
    int fds[KXEN_CTL_MAX_FDS];
    unsigned nfds = 0;
    int rc =
        kxen_ctl_call(h->ctl, op, req, sizeof(*req), NULL, 0, &rep, sizeof(rep), &len, fds, &nfds);
    if (rc == 0 && (len < sizeof(rep) || nfds != 2 || rep.port >= EVTCHN_LIB_NR_PORTS))
        rc = -EPROTO;
    if (rc) {
        for (unsigned i = 0; i < nfds; i++)
            close(fds[i]);
        return fail(-rc);
    }
    pthread_mutex_lock(&h->lock);
    struct evtchn_lib_port *p = &h->ports[rep.port];
    port_forget(h, rep.port); /* a stale entry if kxend re-used the number */
    p->notify_fd = fds[0];
    p->kick_fd = fds[1];
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = rep.port};
    rc = epoll_ctl(h->epfd, EPOLL_CTL_ADD, p->notify_fd, &ev) < 0 ? -errno : 0;
    pthread_mutex_unlock(&h->lock);
    if (rc) {
        xenevtchn_unbind(h, rep.port);
        return fail(-rc);
    }
    return (xenevtchn_port_or_error_t)rep.port;
}

static bool restricted(const xenevtchn_handle *h, uint32_t domid)
{
    return h->restrict_domid >= 0 && (uint32_t)h->restrict_domid != domid;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce, uint32_t domid)
{
    if (domid > UINT16_MAX)
        return fail(EINVAL);
    if (restricted(xce, domid))
        return fail(EPERM);
    struct kxen_ctl_evtchn_bind req = {.domid = (uint16_t)domid};
    return bind_op(xce, KXEN_CTL_EVTCHN_BIND_UNBOUND, &req);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    if (domid > UINT16_MAX)
        return fail(EINVAL);
    if (restricted(xce, domid))
        return fail(EPERM);
    struct kxen_ctl_evtchn_bind req = {.domid = (uint16_t)domid, .remote_port = remote_port};
    return bind_op(xce, KXEN_CTL_EVTCHN_BIND_INTERDOMAIN, &req);
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    if (xce->restrict_domid >= 0)
        return fail(EPERM); /* VIRQs are the hypervisor's, not the restricted domain's */
    struct kxen_ctl_evtchn_bind req = {.virq = virq};
    return bind_op(xce, KXEN_CTL_EVTCHN_BIND_VIRQ, &req);
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    if (port >= EVTCHN_LIB_NR_PORTS)
        return fail(EINVAL);
    struct kxen_ctl_evtchn_port_arg req = {.port = port};
    int rc = kxen_ctl_simple(xce->ctl, KXEN_CTL_EVTCHN_UNBIND, &req, sizeof(req), NULL, 0, NULL);
    pthread_mutex_lock(&xce->lock);
    struct evtchn_lib_port *p = &xce->ports[port];
    struct pollfd fired = {.fd = p->notify_fd, .events = POLLIN};
    if (p->notify_fd >= 0 && !p->masked && poll(&fired, 1, 0) == 1 &&
        xce->nr_stale < sizeof(xce->stale) / sizeof(xce->stale[0])) {
        uint64_t one = 1;
        xce->stale[xce->nr_stale++] = port;
        (void)!write(xce->stale_fd, &one, sizeof(one));
    }
    port_forget(xce, port);
    pthread_mutex_unlock(&xce->lock);
    return rc ? fail(-rc) : 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    if (port >= EVTCHN_LIB_NR_PORTS)
        return fail(EINVAL);
    int fd = __atomic_load_n(&xce->ports[port].kick_fd, __ATOMIC_ACQUIRE);
    if (fd < 0)
        return fail(ENOTCONN);
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) != sizeof(one))
        return -1;
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    /* Like a read of Xen's /dev/xen/evtchn, the first wait blocks until a port fires. A caller
     * that polled the fd and then lost the event to an unbind (or to another reader) must not
     * block for ever on a set that may now be empty: after such a race only ports that are
     * ready now are taken, else -1 with errno EAGAIN (the caller polls again). */
    int timeout = -1;
    for (;;) {
        struct epoll_event ev;
        int n = epoll_wait(xce->epfd, &ev, 1, timeout);
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EAGAIN;
            return -1;
        }
        uint32_t port = ev.data.u32;
        if (port >= EVTCHN_LIB_NR_PORTS) { /* stale_fd: a port unbound after it fired */
            pthread_mutex_lock(&xce->lock);
            bool have = xce->nr_stale > 0;
            if (have) {
                port = xce->stale[0];
                memmove(xce->stale, xce->stale + 1, --xce->nr_stale * sizeof(xce->stale[0]));
            }
            uint64_t cnt;
            if (xce->nr_stale == 0)
                (void)!read(xce->stale_fd, &cnt, sizeof(cnt));
            pthread_mutex_unlock(&xce->lock);
            if (have)
                return (xenevtchn_port_or_error_t)port;
            timeout = 0;
            continue;
        }
        pthread_mutex_lock(&xce->lock);
        struct evtchn_lib_port *p = &xce->ports[port];
        uint64_t cnt;
        bool live = p->notify_fd >= 0 && !p->masked;
        bool fired = live && read(p->notify_fd, &cnt, sizeof(cnt)) == sizeof(cnt);
        if (fired) {
            p->masked = true; /* the report disarmed it */
        } else if (live) {
            /* Another reader took the count: stay armed for the next event. */
            struct epoll_event on = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = port};
            epoll_ctl(xce->epfd, EPOLL_CTL_MOD, p->notify_fd, &on);
        }
        pthread_mutex_unlock(&xce->lock);
        if (fired)
            return (xenevtchn_port_or_error_t)port;
        timeout = 0; /* raced with an unbind or another reader */
    }
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    if (port >= EVTCHN_LIB_NR_PORTS)
        return fail(EINVAL);
    pthread_mutex_lock(&xce->lock);
    struct evtchn_lib_port *p = &xce->ports[port];
    int rc = 0;
    if (p->notify_fd < 0) {
        rc = ENOTCONN;
    } else if (p->masked) {
        /* Level-triggered: an event that came while masked fires again at once. */
        struct epoll_event on = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = port};
        if (epoll_ctl(xce->epfd, EPOLL_CTL_MOD, p->notify_fd, &on) < 0)
            rc = errno;
        else
            p->masked = false;
    }
    pthread_mutex_unlock(&xce->lock);
    return rc ? fail(rc) : 0;
}

int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
    if (domid >= DOMID_FIRST_RESERVED)
        return fail(EINVAL);
    if (xce->restrict_domid >= 0 && xce->restrict_domid != domid)
        return fail(EPERM); /* a restriction is never widened */
    xce->restrict_domid = domid;
    return 0;
}
