/* How xenstored reaches a guest's xenstore ring: the one interface the hypervisor side plugs
 * into. XS_INTRODUCE(domid, gfn, port) calls map(); the daemon then serves the ring page
 * (struct xenstore_domain_interface) and waits on the returned event fd, which must become
 * readable (eventfd semantics: an 8-byte counter read clears it) whenever the guest notifies
 * its event channel. notify() kicks the guest; unmap() undoes map() (including the fd). */
#ifndef XENSTORED_RING_BACKEND_H
#define XENSTORED_RING_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct xs_daemon;
struct xs_conn;

struct xs_ring_mapping {
    void *page;   /* the guest's ring page, mapped read-write */
    int evfd;     /* readable when the guest has notified us */
    void *handle; /* backend-private */
};

struct xs_ring_backend {
    const char *name;
    void *priv;
    /* Returns 0 or -errno (the introduce then fails with that error). */
    int (*map)(const struct xs_ring_backend *be, uint32_t domid, uint64_t gfn, uint32_t port,
               struct xs_ring_mapping *m);
    /* Returns 0 or -errno. */
    int (*notify)(const struct xs_ring_backend *be, struct xs_ring_mapping *m);
    void (*unmap)(const struct xs_ring_backend *be, struct xs_ring_mapping *m);
    /* Optional (NULL: domain shutdowns are learnt from XS_RELEASE only). An fd that becomes
     * readable (eventfd semantics) when some domain changed state -- Xen's VIRQ_DOM_EXC --
     * or -errno. Called after the first successful map(). */
    int (*exc_fd)(const struct xs_ring_backend *be);
    /* Optional: 2 if the hypervisor no longer has domid (destroyed: the daemon then releases
     * it), 1 if it is shut down or dying, 0 if it runs, -errno if unknown. */
    int (*domain_down)(const struct xs_ring_backend *be, uint32_t domid);
    /* Optional: true once the hypervisor the rings were mapped through is gone (kxend died,
     * and every guest with it). The daemon then releases every domain and calls hv_reset(),
     * after which map() reaches the new hypervisor. */
    bool (*hv_lost)(const struct xs_ring_backend *be);
    void (*hv_reset)(const struct xs_ring_backend *be);
};

/* Called on the exc_fd event: fires @releaseDomain once for each introduced domain that the
 * backend reports down and that was not already reported (Xen's domain_cleanup()); when the
 * backend reports its hypervisor lost, releases every domain instead (xs_domain_release)
 * and removes what the toolstack would have: /local/domain/N and the /vm path it names. */
void xs_domain_check_exc(struct xs_daemon *d);

/* Sets the backend used by later XS_INTRODUCE requests (set once, at startup). Without one,
 * introduced domains are known (paths, quotas, @introduceDomain) but have no ring. */
void xenstored_set_ring_backend(struct xs_daemon *d, const struct xs_ring_backend *be);

/* Serves a mapped ring as a connection of domain domid (used by XS_INTRODUCE; tests call it
 * with an in-process page). Takes ownership of m: unmapped through be when the connection
 * ends. Returns 0 or -errno. */
int xs_ring_conn_new(struct xs_daemon *d, uint32_t domid, const struct xs_ring_backend *be,
                     const struct xs_ring_mapping *m, struct xs_conn **out);

/* Moves a domain's ring connection to a new mapping of the same ring (re-introduction with
 * a new event channel): the old mapping is unmapped, watches and transactions stay. Takes
 * ownership of m. Returns 0 or -errno (m is then unmapped). */
int xs_ring_conn_rebind(struct xs_conn *conn, const struct xs_ring_backend *be,
                        const struct xs_ring_mapping *m);

#endif
