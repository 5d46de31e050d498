/* How xenstored reaches a guest's xenstore ring: the one interface the hypervisor side plugs
 * into. XS_INTRODUCE(domid, gfn, port) calls map(); the daemon then serves the ring page
 * (struct xenstore_domain_interface) and waits on the returned event fd, which must become
 * readable (eventfd semantics: an 8-byte counter read clears it) whenever the guest notifies
 * its event channel. notify() kicks the guest; unmap() undoes map() (including the fd). */
#ifndef XENSTORED_RING_BACKEND_H
#define XENSTORED_RING_BACKEND_H

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
};

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
