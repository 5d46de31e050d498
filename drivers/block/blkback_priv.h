/* blkback's internal state, shared by the control plane (blkback_xenbus.c) and the data plane
 * (blkback_ring.c). Ownership: a blkback owns its xenbus backend; each device owns its storage
 * and rings; each ring owns its persistent grants and counts its requests in flight. A ring is
 * torn down only when that count is zero. */
#ifndef KXEN_DRIVERS_BLOCK_BLKBACK_PRIV_H
#define KXEN_DRIVERS_BLOCK_BLKBACK_PRIV_H

#include <pthread.h>

#include <kxen/ring_safe.h>

#include "blkback.h"

/* The order-4 ring (16 pages) of max-ring-page-order is XENBUS_MAX_RING_GRANT_ORDER. */
#define BLKBACK_MAX_RING_ORDER 4
#define BLKBACK_MAX_QUEUES 64
#define BLKBACK_PAGE 4096u

struct blkback {
    struct xenbus_platform *p;
    struct xenbus_backend *xb;
    struct blkback_config cfg;
    int done_fd; /* eventfd: completions queued */
    pthread_mutex_t done_lock;
    struct blkback_io *done_head, *done_tail; /* completed I/O, all rings */
};

struct blkback_pgrant {
    grant_ref_t gref;
    void *addr;
    bool batched;  /* a page of one of pg_batches, unmapped with it */
    bool readonly; /* kept as an indirect segment page; mapped again writable when needed */
};

/* Persistent grants first used by one request, mapped with one call. */
struct blkback_pg_batch {
    void *addr;
    unsigned int count;
};

struct blkback_ring {
    struct blkback_dev *bd;
    unsigned int idx;
    blkif_back_ring_t back;
    struct kxen_ring_guard guard;
    void *sring;
    unsigned int nr_pages;
    int port; /* local port, -1 when unbound */
    unsigned int inflight;
    bool dead; /* the frontend broke the protocol on this ring */
    struct blkback_pgrant *pgrants;
    unsigned int nr_pgrants, max_pgrants;
    /* Open-addressed index of pgrants by gref (index + 1, 0 = free), a power of two at
     * least twice max_pgrants: every segment of every request is looked up. */
    unsigned int *pg_index;
    unsigned int pg_index_size;
    struct blkback_pg_batch *pg_batches;
    unsigned int nr_pg_batches;
};

struct blkback_dev {
    struct blkback *bb;
    struct xenbus_device *xdev;
    struct storage *st;
    struct blkback_limits lim;
    bool persistent;
    unsigned int nr_rings;
    struct blkback_ring *rings;
};

/* One request in flight. The segments and iovecs follow the struct. */
struct blkback_io {
    struct blkback_io *next;
    struct blkback_ring *ring;
    struct blkback_req req;
    struct storage_io sio;
    void *map;           /* one multi-ref map (non-persistent), or NULL */
    unsigned int nr_map; /* pages in map */
    unsigned int nr_segs;
    void **transient; /* per segment: a single map to undo, or NULL */
    struct blkif_request_segment *segs;
    struct iovec *iov;
};

/* Data plane (blkback_ring.c). */
int blkback_ring_connect(struct blkback_ring *r, uint32_t domid, const uint32_t *refs,
                         unsigned int nr_pages, uint32_t remote_port);
/* Waits for the ring's requests in flight, then unmaps and unbinds. */
void blkback_ring_disconnect(struct blkback_ring *r);
/* Hands completed I/O back to their rings (responses, notifications). */
int blkback_reap(struct blkback *bb);

#endif
