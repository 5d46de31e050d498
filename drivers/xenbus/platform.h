/* The platform a split-driver backend runs on: event channels, grant mapping and xenstore,
 * shaped like Xen's own libraries (libxenevtchn, libxengnttab, libxenstore) so one backend core
 * serves dom0 (platform_dom0.c, over hypervisor/libs and libxenstore) and, later, a driver
 * domain. Nothing here assumes the backend runs in dom0: the backend's own domain id is a field.
 *
 * Every op returns 0 (or a non-negative value where stated) or a negative errno. Ops are called
 * from one thread (the backend's event loop); implementations need not be thread-safe.
 *
 * Beside the ops, the platform keeps the table of bound ports: a backend binds a port with a
 * handler, and xenbus_evtchn_dispatch() runs the handler of every port that fired. */
#ifndef KXEN_DRIVERS_XENBUS_PLATFORM_H
#define KXEN_DRIVERS_XENBUS_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t xenbus_txn_t;
#define XENBUS_TXN_NULL 0u

/* A xenstore permission entry, as Xen's struct xs_permissions. */
#define XENBUS_PERM_NONE 0u
#define XENBUS_PERM_READ 1u
#define XENBUS_PERM_WRITE 2u
struct xenbus_perm {
    uint32_t domid;
    uint32_t perms;
};

/* One grant-copy segment: exactly one side is a foreign grant, the other local memory. */
struct xenbus_gnttab_copy {
    bool to_grant; /* true: local -> grant (a read completing), false: grant -> local */
    uint32_t domid;
    uint32_t ref;
    uint16_t offset; /* within the granted page */
    uint16_t len;    /* offset + len <= 4096 */
    void *local;
    int16_t status; /* out: 0 or a GNTST_* error */
};

struct xenbus_platform;

struct xenbus_platform_ops {
    /* Event channels. bind returns the local port (>= 0). pending returns the next port that
     * fired, or -EAGAIN when none; the port stays masked until unmask. */
    int (*evtchn_bind_interdomain)(struct xenbus_platform *p, uint32_t domid, uint32_t remote_port);
    int (*evtchn_unbind)(struct xenbus_platform *p, uint32_t port);
    int (*evtchn_notify)(struct xenbus_platform *p, uint32_t port);
    int (*evtchn_fd)(struct xenbus_platform *p);
    int (*evtchn_pending)(struct xenbus_platform *p);
    int (*evtchn_unmask)(struct xenbus_platform *p, uint32_t port);

    /* Grants. map makes count granted pages of domid one contiguous range (*addr); readonly
     * maps need only a read-only grant. unmap takes exactly what map returned. */
    int (*gnttab_map)(struct xenbus_platform *p, uint32_t domid, uint32_t count,
                      const uint32_t *refs, bool readonly, void **addr);
    int (*gnttab_unmap)(struct xenbus_platform *p, void *addr, uint32_t count);
    int (*gnttab_copy)(struct xenbus_platform *p, uint32_t count, struct xenbus_gnttab_copy *segs);

    /* Xenstore. read copies the value into buf (NUL-terminated) and returns its length;
     * -ENOENT when absent, -EOVERFLOW when it does not fit in len. directory returns the
     * children as one malloc'd block (free it once) of *n strings. transaction_end returns
     * -EAGAIN when the transaction conflicted and must be retried. read_watch returns 1 with
     * one event (path and token copied, bounded), 0 when none is queued. */
    int (*xs_read)(struct xenbus_platform *p, xenbus_txn_t t, const char *path, char *buf,
                   size_t len);
    int (*xs_write)(struct xenbus_platform *p, xenbus_txn_t t, const char *path, const char *val);
    int (*xs_mkdir)(struct xenbus_platform *p, xenbus_txn_t t, const char *path);
    int (*xs_rm)(struct xenbus_platform *p, xenbus_txn_t t, const char *path);
    int (*xs_directory)(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        char ***entries, unsigned int *n);
    int (*xs_set_perms)(struct xenbus_platform *p, xenbus_txn_t t, const char *path,
                        const struct xenbus_perm *perms, unsigned int n);
    int (*xs_watch)(struct xenbus_platform *p, const char *path, const char *token);
    int (*xs_unwatch)(struct xenbus_platform *p, const char *path, const char *token);
    int (*xs_watch_fd)(struct xenbus_platform *p);
    int (*xs_read_watch)(struct xenbus_platform *p, char *path, size_t path_len, char *token,
                         size_t token_len);
    int (*xs_transaction_start)(struct xenbus_platform *p, xenbus_txn_t *t);
    int (*xs_transaction_end)(struct xenbus_platform *p, xenbus_txn_t t, bool abort);

    void (*destroy)(struct xenbus_platform *p);
};

typedef void (*xenbus_evtchn_handler)(void *ctx, uint32_t port);

struct xenbus_port_slot {
    uint32_t port;
    xenbus_evtchn_handler fn;
    void *ctx;
};

struct xenbus_platform {
    const struct xenbus_platform_ops *ops;
    uint32_t self_domid;            /* the domain the backends run in */
    struct xenbus_port_slot *ports; /* bound ports with handlers */
    unsigned int nr_ports, cap_ports;
};

/* Binds remote_port of domid and registers fn for it; returns the local port or -errno. */
int xenbus_evtchn_bind(struct xenbus_platform *p, uint32_t domid, uint32_t remote_port,
                       xenbus_evtchn_handler fn, void *ctx);
int xenbus_evtchn_unbind(struct xenbus_platform *p, uint32_t port);
/* Runs the handler of every port that fired (each unmasked after its handler). Returns the
 * number of events handled or -errno. */
int xenbus_evtchn_dispatch(struct xenbus_platform *p);
/* Releases the port table and calls ops->destroy. */
void xenbus_platform_destroy(struct xenbus_platform *p);

/* dom0: libxenevtchn + libxengnttab + libxenstore. Returns NULL with errno set. */
struct xenbus_platform *xenbus_platform_dom0_open(void);

#endif
