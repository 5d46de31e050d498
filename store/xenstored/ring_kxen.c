/* xenstored's guest ring backend on kxen: the store page is mapped with xenforeignmemory and
 * the store event channel bound with xenevtchn (kxend's dom0 libraries). The ring transport
 * wants one eventfd per guest that an 8-byte read clears; libxenevtchn offers one pollable fd
 * per handle and xenevtchn_pending(), as Xen does, so a small thread turns each pending port
 * into a write on that guest's own eventfd. Linked into build/bin/xenstored only.
 * kxend's death (every guest dies with it) is seen on a connection that carries no requests
 * and only ever hangs up: the backend then reports itself lost, the daemon releases every
 * domain, and the next map() connects to the new kxend. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <kxen/xen.h>
#include "kxen/ctl_client.h"
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>

#include "ring_backend.h"

#define KXEN_RING_MAX_PORTS 4096u /* the 2-level event-channel ABI's port space */

struct kxen_ring_map {
    uint32_t domid;
    evtchn_port_t local_port;
    int evfd;
    unsigned gen; /* the kxend connection it was made on (K.gen) */
};

static struct {
    pthread_mutex_t lock;
    xenevtchn_handle *xce;
    xenforeignmemory_handle *fmem;
    int evfd_of_port[KXEN_RING_MAX_PORTS]; /* -1 = no guest on that local port */
    int exc_port;                          /* VIRQ_DOM_EXC's local port, -1 if unbound */
    int exc_evfd;                          /* readable after VIRQ_DOM_EXC */
    xc_interface *xch;                     /* domain info, used from the daemon's thread */
    struct kxen_ctl *alive;                /* hangs up when kxend dies; never used for requests */
    bool lost;                             /* alive hung up: every handle above is dead */
    unsigned gen;                          /* bumped at each reconnection */
    bool thread_started;
    pthread_t thread;
} K = {.lock = PTHREAD_MUTEX_INITIALIZER, .exc_port = -1, .exc_evfd = -1};

static void *forward_thread(void *arg)
{
    (void)arg;
    /* events 0 on the liveness connection: poll reports its hang-up regardless. */
    struct pollfd p[2] = {{.fd = xenevtchn_fd(K.xce), .events = POLLIN},
                          {.fd = kxen_ctl_fd(K.alive), .events = 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[1].revents & (POLLHUP | POLLERR)) {
            pthread_mutex_lock(&K.lock);
            K.lost = true;
            uint64_t one = 1;
            if (K.exc_evfd >= 0 && write(K.exc_evfd, &one, sizeof(one)) < 0) {
                /* counter saturated: the daemon is already woken */
            }
            pthread_mutex_unlock(&K.lock);
            return NULL;
        }
        if (!(p[0].revents & POLLIN))
            continue;
        xenevtchn_port_or_error_t port = xenevtchn_pending(K.xce);
        if (port < 0 || (unsigned)port >= KXEN_RING_MAX_PORTS)
            continue;
        xenevtchn_unmask(K.xce, port);
        pthread_mutex_lock(&K.lock);
        int fd = port == K.exc_port ? K.exc_evfd : K.evfd_of_port[port];
        if (fd >= 0) {
            uint64_t one = 1;
            if (write(fd, &one, sizeof(one)) < 0) {
                /* counter saturated: the guest is already flagged */
            }
        }
        pthread_mutex_unlock(&K.lock);
    }
}

/* Opens the libraries and starts the forwarder on first use (kxend must be running). */
static int kxen_ring_init_locked(void)
{
    if (K.thread_started)
        return K.lost ? -ENOTCONN : 0;
    if (!K.alive) {
        int rc = kxen_ctl_open(NULL, &K.alive);
        if (rc)
            return rc;
    }
    if (!K.xce && !(K.xce = xenevtchn_open(NULL, 0)))
        return -(errno ? errno : ECONNREFUSED);
    if (!K.fmem && !(K.fmem = xenforeignmemory_open(NULL, 0)))
        return -(errno ? errno : ECONNREFUSED);
    for (unsigned i = 0; i < KXEN_RING_MAX_PORTS; i++)
        K.evfd_of_port[i] = -1;
    /* Domain exceptions (shutdown, destroy): without them xenstored still works, it only
     * learns of shutdowns at XS_RELEASE, so a failure here is not fatal. */
    K.exc_port = -1;
    if (K.exc_evfd < 0) /* kept across reconnections: the daemon's event waits on it */
        K.exc_evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (K.exc_evfd >= 0) {
        xenevtchn_port_or_error_t vp = xenevtchn_bind_virq(K.xce, VIRQ_DOM_EXC);
        if (vp >= 0 && (unsigned)vp < KXEN_RING_MAX_PORTS)
            K.exc_port = vp;
    }
    /* The domain-info connection is opened here, not at the first exception, so the daemon's
     * descriptors do not change later (tests compare them against a baseline). */
    if (K.exc_port >= 0 && !K.xch && !(K.xch = xc_interface_open(NULL, NULL, 0)))
        K.exc_port = -1;
    int rc = pthread_create(&K.thread, NULL, forward_thread, NULL);
    if (rc)
        return -rc;
    K.thread_started = true;
    return 0;
}

static int kxen_ring_map(const struct xs_ring_backend *be, uint32_t domid, uint64_t gfn,
                         uint32_t port, struct xs_ring_mapping *m)
{
    (void)be;
    pthread_mutex_lock(&K.lock);
    int rc = kxen_ring_init_locked();
    pthread_mutex_unlock(&K.lock);
    if (rc)
        return rc;
    struct kxen_ring_map *km = calloc(1, sizeof(*km));
    if (!km)
        return -ENOMEM;
    km->domid = domid;
    km->gen = K.gen;
    km->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (km->evfd < 0) {
        rc = -errno;
        free(km);
        return rc;
    }
    xen_pfn_t pfn = gfn;
    int err = 0;
    void *page = xenforeignmemory_map(K.fmem, domid, PROT_READ | PROT_WRITE, 1, &pfn, &err);
    if (!page || err) {
        rc = err ? -abs(err) : -(errno ? errno : EFAULT);
        if (page)
            xenforeignmemory_unmap(K.fmem, page, 1);
        close(km->evfd);
        free(km);
        return rc;
    }
    xenevtchn_port_or_error_t lp = xenevtchn_bind_interdomain(K.xce, domid, port);
    if (lp < 0 || (unsigned)lp >= KXEN_RING_MAX_PORTS) {
        rc = lp < 0 ? -(errno ? errno : EINVAL) : -ERANGE;
        if (lp >= 0)
            xenevtchn_unbind(K.xce, lp);
        xenforeignmemory_unmap(K.fmem, page, 1);
        close(km->evfd);
        free(km);
        return rc;
    }
    km->local_port = lp;
    pthread_mutex_lock(&K.lock);
    K.evfd_of_port[lp] = km->evfd;
    pthread_mutex_unlock(&K.lock);
    m->page = page;
    m->evfd = km->evfd;
    m->handle = km;
    return 0;
}

static int kxen_ring_notify(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    struct kxen_ring_map *km = m->handle;
    return xenevtchn_notify(K.xce, km->local_port) < 0 ? -(errno ? errno : EIO) : 0;
}

static void kxen_ring_unmap(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    struct kxen_ring_map *km = m->handle;
    if (!km)
        return;
    if (km->gen == K.gen) { /* else its port died with the old kxend's connection */
        pthread_mutex_lock(&K.lock);
        K.evfd_of_port[km->local_port] = -1;
        pthread_mutex_unlock(&K.lock);
        xenevtchn_unbind(K.xce, km->local_port);
    }
    /* The mapping keeps the guest's whole RAM alive: it goes even after kxend died. */
    xenforeignmemory_unmap(K.fmem, m->page, 1);
    close(km->evfd);
    free(km);
    m->page = NULL;
    m->evfd = -1;
    m->handle = NULL;
}

static int kxen_ring_exc_fd(const struct xs_ring_backend *be)
{
    (void)be;
    pthread_mutex_lock(&K.lock);
    int fd = K.exc_port >= 0 ? K.exc_evfd : -ENOTCONN;
    pthread_mutex_unlock(&K.lock);
    return fd;
}

/* As Xen's xenstored: a domain is down when its info says shut down or dying, and gone
 * when getinfo no longer returns it (destroyed). */
static int kxen_ring_domain_down(const struct xs_ring_backend *be, uint32_t domid)
{
    (void)be;
    if (!K.xch && !(K.xch = xc_interface_open(NULL, NULL, 0)))
        return -(errno ? errno : ECONNREFUSED);
    xc_dominfo_t info;
    int n = xc_domain_getinfo(K.xch, domid, 1, &info);
    if (n < 0)
        return -(errno ? errno : EIO);
    if (n == 0 || info.domid != domid)
        return 2;
    return info.shutdown || info.dying;
}

static bool kxen_ring_hv_lost(const struct xs_ring_backend *be)
{
    (void)be;
    pthread_mutex_lock(&K.lock);
    if (!K.lost && K.alive) { /* asked before the forwarder noticed */
        struct pollfd p = {.fd = kxen_ctl_fd(K.alive), .events = 0};
        if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
            K.lost = true;
    }
    bool lost = K.lost;
    pthread_mutex_unlock(&K.lock);
    return lost;
}

/* Drops the dead kxend's handles; the next map() opens new ones. */
static void kxen_ring_hv_reset(const struct xs_ring_backend *be)
{
    (void)be;
    if (K.thread_started)
        pthread_join(K.thread, NULL); /* it ends on the same hang-up */
    K.thread_started = false;
    if (K.xch)
        xc_interface_close(K.xch);
    if (K.fmem)
        xenforeignmemory_close(K.fmem);
    if (K.xce)
        xenevtchn_close(K.xce);
    if (K.alive)
        kxen_ctl_close(K.alive);
    K.xch = NULL;
    K.fmem = NULL;
    K.xce = NULL;
    K.alive = NULL;
    K.exc_port = -1;
    K.lost = false;
    K.gen++;
}

static const struct xs_ring_backend kxen_ring_backend = {
    .name = "kxen",
    .map = kxen_ring_map,
    .notify = kxen_ring_notify,
    .unmap = kxen_ring_unmap,
    .exc_fd = kxen_ring_exc_fd,
    .domain_down = kxen_ring_domain_down,
    .hv_lost = kxen_ring_hv_lost,
    .hv_reset = kxen_ring_hv_reset,
};

/* Overrides main.c's weak default: xenstored serves guest rings through kxend. */
const struct xs_ring_backend *xenstored_ring_backend_default(void)
{
    return &kxen_ring_backend;
}
