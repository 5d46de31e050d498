/* blkback: the block backend, split by plane.
 *   blkback_xenbus.c  the device type of the xenbus core: feature keys, the frontend's ring
 *                     keys, connect/disconnect, the storage open;
 *   blkback_ring.c    the data plane: requests copied once off the ring, validated, grants
 *                     mapped (persistent ones kept per ring), storage I/O, responses;
 *   blkback_req.c     request validation, a pure function (fuzzed).
 * Single-threaded except for storage completions, which are queued and handed back to the
 * event loop through an eventfd (blkback_completion_fd). */
#ifndef KXEN_DRIVERS_BLOCK_BLKBACK_H
#define KXEN_DRIVERS_BLOCK_BLKBACK_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/io/blkif.h>

#include "../xenbus/backend.h"
#include "storage.h"

struct blkback_config {
    unsigned int max_queues;            /* multi-queue-max-queues (0: 4) */
    unsigned int max_ring_page_order;   /* max-ring-page-order (0 means 0; default 4 via new) */
    unsigned int max_indirect_segments; /* feature-max-indirect-segments (0: none) */
    unsigned int max_persistent_grants; /* per ring; 0 disables feature-persistent */
    unsigned int nr_workers;            /* storage worker threads per disk */
    /* Every read and write of an image in memory done on the event loop, not only where the
     * storage chose it (storage.h `run_inline`: one CPU); tests take that path with it. */
    bool inline_in_memory;
    /* Opens the image named by the backend's `params` (NULL: storage_open). */
    int (*open_storage)(void *ctx, const char *params, bool readonly, unsigned int nr_workers,
                        struct storage **out);
    void *open_ctx;
};
/* Linux 6.1's defaults: 4 queues, order 4, 256 indirect segments; persistent grants bounded
 * as Linux's (32 requests of 11 segments per ring page, whichever is less). */
void blkback_config_default(struct blkback_config *cfg);

struct blkback;
struct blkback *blkback_new(struct xenbus_platform *p, const struct blkback_config *cfg,
                            xenbus_log_fn log, void *log_ctx);
int blkback_start(struct blkback *bb);
/* Readable when storage requests completed (then call blkback_poll). */
int blkback_completion_fd(struct blkback *bb);
/* Handles xenstore events, fired event channels and completed I/O. Returns the number of
 * events handled or a negative errno. */
int blkback_poll(struct blkback *bb);
void blkback_free(struct blkback *bb);
struct xenbus_backend *blkback_xenbus(struct blkback *bb);

/* ---- Request validation (blkback_req.c) ---------------------------------------------------- */
struct blkback_limits {
    uint64_t nr_sectors; /* disk size in 512-byte sectors */
    bool readonly;
    bool discard;
    unsigned int max_indirect_segments;
};

/* One request, copied and validated. seg[] holds direct segments; an indirect request's
 * segments are read from its indirect pages later (blkback_check_segments). */
struct blkback_req {
    uint8_t op; /* the effective op: READ, WRITE, FLUSH_DISKCACHE or DISCARD */
    bool indirect;
    uint64_t id;
    uint64_t sector;
    uint64_t nr_discard_sectors;
    unsigned int nr_segs;
    unsigned int nr_indirect_pages;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* Returns BLKIF_RSP_OKAY with *out filled, or the response status to send (BLKIF_RSP_ERROR,
 * BLKIF_RSP_EOPNOTSUPP). The id is filled in every case so the error can be answered. */
int blkback_parse_request(const struct blkif_request *raw, const struct blkback_limits *lim,
                          struct blkback_req *out);
/* Validates n segments of req (first_sect <= last_sect < 8, the sector range inside the
 * disk); *total gets the sector count. Returns BLKIF_RSP_OKAY or BLKIF_RSP_ERROR. */
int blkback_check_segments(const struct blkif_request_segment *segs, unsigned int n,
                           const struct blkback_req *req, const struct blkback_limits *lim,
                           uint64_t *total);

#endif
