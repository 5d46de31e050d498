/* blkfront: the vbd frontend of the guest runtime, negotiating as Linux 6.1's xen-blkfront
 * (blkfront.c: xenstore handshake and teardown; blkfront_ring.c: requests and responses).
 *
 * The caller owns the device (struct blkfront, with its ring and indirect pages inside, so only
 * guests that use a disk pay for the memory). Requests are asynchronous: submit puts one on a
 * ring and returns; blkfront_poll() takes responses and calls each request's done callback from
 * the caller's context (never from an event handler). Every in-flight request holds a slot;
 * slots, ring room and grants bound what can be in flight, and submit says -EBUSY when one is
 * exhausted: poll or wait, then resubmit.
 *
 * After a resume in a new domain (restore, migration) the device reconnects by itself (a
 * guest_suspend resume hook): the new backend gets new rings, grants and event channels, and
 * every request that had no answer yet is issued again on them, so callers see their done
 * callbacks run as if nothing happened (a request the new rings cannot take fails with
 * BLKIF_RSP_ERROR).
 *
 * Invariant: a request's buffer belongs to the backend from submit until its done callback ran;
 * grants of a completed request are revoked (or kept as persistent grants) before done runs. */
#ifndef GUEST_BLKFRONT_H
#define GUEST_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/io/blkif.h>

#include "guest/suspend.h"

#define BLKFRONT_MAX_QUEUES 4
#define BLKFRONT_MAX_RING_ORDER 4 /* XENBUS_MAX_RING_GRANT_ORDER: 16 pages */
#define BLKFRONT_MAX_SLOTS 64     /* requests in flight per device, all queues */
/* Segments of one request: 1 MiB, which fits one indirect page (512 segments per page). */
#define BLKFRONT_MAX_SEGMENTS 256
/* Persistently granted frames per device: at most what blkback keeps per ring (1056), so
 * a frame it keeps mapped is one we never revoke. */
#define BLKFRONT_MAX_PERSISTENT 1024
/* Open-addressed index of the persistent frames: twice their number keeps probes short. */
#define BLKFRONT_PERSISTENT_HASH (2 * BLKFRONT_MAX_PERSISTENT)

struct blkfront_config {
    unsigned ring_page_order;       /* wanted; min with the backend's max-ring-page-order */
    unsigned max_queues;            /* wanted; min with multi-queue-max-queues */
    unsigned max_indirect_segments; /* 0: direct requests only (11 segments) */
    bool persistent;                /* offer feature-persistent */
    /* A backend that dies (Closed, or its directory gone, while still online) is waited for
     * instead of detached: the frontend goes Initialising, keeps its unanswered requests and
     * reconnects when the toolstack names a backend in InitWait (a restarted driver domain). */
    bool reconnect;
};
/* Linux 6.1's module defaults: order 0, 4 queues, 32 indirect segments, persistent grants. */
void blkfront_config_default(struct blkfront_config *cfg);

/* What the backend said at Connected. */
struct blkfront_info {
    uint64_t sectors; /* 512-byte units */
    unsigned sector_size, physical_sector_size;
    unsigned info; /* VDISK_* */
    bool readonly, flush, barrier, discard, discard_secure, persistent;
    unsigned discard_granularity, discard_alignment;
    unsigned max_indirect_segments; /* used: min(backend, config); 0 = direct only */
    unsigned nr_queues, ring_page_order, ring_size;
};

struct blkfront_req;
typedef void (*blkfront_done_fn)(struct blkfront_req *req);

struct blkfront_req {
    uint8_t op;      /* BLKIF_OP_READ, _WRITE, _FLUSH_DISKCACHE, _WRITE_BARRIER or _DISCARD */
    uint64_t sector; /* 512-byte units */
    void *buf;       /* 512-byte aligned; READ/WRITE only */
    size_t len;      /* bytes, a multiple of 512 (for DISCARD: the range to discard) */
    unsigned queue;  /* ring to use, taken modulo the queue count */
    blkfront_done_fn done;
    void *ctx;
    int16_t status; /* BLKIF_RSP_* once done ran */
};

enum blkfront_state {
    BLKFRONT_CLOSED,
    BLKFRONT_CONNECTED,
    BLKFRONT_BACKEND_GONE,
    BLKFRONT_WAITING /* cfg.reconnect: the backend died, a new one is awaited */
};

struct blkfront_queue {
    blkif_front_ring_t ring;
    evtchn_port_t port;
    grant_ref_t ring_refs[1u << BLKFRONT_MAX_RING_ORDER];
    volatile bool kicked; /* set by the event handler, cleared by poll */
};

struct blkfront_slot {
    struct blkfront_req *req; /* NULL: free */
    uint64_t raw_tag;         /* raw requests (hostile tests): the caller's tag */
    bool raw;
    uint8_t op;
    uint16_t nr_grants;
    grant_ref_t grants[BLKFRONT_MAX_SEGMENTS]; /* transient grants to revoke on completion */
    grant_ref_t indirect_ref;                  /* granted once at connect */
    /* The buffer whose segments indirect[slot] holds, all under persistent grants: a request
     * on the same buffer again reuses the page as it is (NULL: nothing reusable). */
    const void *seg_buf;
    size_t seg_len;
};

struct blkfront_persistent {
    unsigned long frame;
    grant_ref_t ref;
};

/* Hostile-test hook: responses to raw requests come here instead of a done callback. */
typedef void (*blkfront_raw_fn)(uint64_t tag, int16_t status, void *ctx);

struct blkfront {
    uint8_t ring_pages[BLKFRONT_MAX_QUEUES][1u << BLKFRONT_MAX_RING_ORDER][4096];
    struct blkif_request_segment indirect[BLKFRONT_MAX_SLOTS]
                                         [4096 / sizeof(struct blkif_request_segment)];
    unsigned devid;
    char node[48];     /* device/vbd/<devid> */
    char backend[128]; /* the backend's directory */
    char watch_token[32];
    domid_t backend_id;
    enum blkfront_state state;
    volatile bool backend_changed; /* the backend's state node fired */
    bool ring_broken;              /* the backend produced impossible responses */
    struct blkfront_config cfg;
    struct blkfront_info info;
    struct blkfront_queue queues[BLKFRONT_MAX_QUEUES];
    struct blkfront_slot slots[BLKFRONT_MAX_SLOTS];
    unsigned inflight;
    struct blkfront_persistent persistent[BLKFRONT_MAX_PERSISTENT];
    unsigned nr_persistent;
    uint16_t persistent_hash[BLKFRONT_PERSISTENT_HASH]; /* index + 1 into persistent, 0: free */
    unsigned long leaked_grants;                        /* refs the backend never released */
    unsigned long stray_responses;
    unsigned long replayed;   /* requests re-issued on a new backend's rings */
    unsigned long reconnects; /* times a new backend was connected after one died */
    unsigned failed_attempts; /* handshakes with a new backend that failed in a row */
    blkfront_raw_fn raw_fn;
    void *raw_ctx;
    struct guest_resume_hook resume_hook; /* registered while connected */
} __attribute__((aligned(4096)));

/* The devids under device/vbd (at most max); returns how many or a negative errno. */
int blkfront_list(unsigned *devids, unsigned max);

/* Handshake for device/vbd/<devid>: waits for the backend's InitWait, grants rings, writes the
 * ring keys in one transaction, Initialised, waits for Connected, reads the disk, Connected.
 * -ETIMEDOUT at deadline_ns, -ENODEV when the backend closes instead, -ENOSPC without
 * grants. */
int blkfront_open(struct blkfront *dev, unsigned devid, const struct blkfront_config *cfg,
                  uint64_t deadline_ns);
const struct blkfront_info *blkfront_get_info(const struct blkfront *dev);

/* Queues req. -EINVAL for a malformed request (alignment, size, range), -EROFS for a write to
 * a read-only disk, -EOPNOTSUPP for an operation the backend did not advertise, -EBUSY when no
 * slot, ring room or grant is free or while a new backend is awaited (cfg.reconnect), -ENOTCONN
 * once the backend went away. */
int blkfront_submit(struct blkfront *dev, struct blkfront_req *req);
/* Takes responses (calling done callbacks) and follows the backend's state (a backend
 * Closing detaches cooperatively: see blkfront_poll in blkfront.c). Returns completions. */
int blkfront_poll(struct blkfront *dev);
/* Blocks until poll has something to do (a response or a backend state change) or
 * deadline_ns; then polls. Returns completions, or -ETIMEDOUT. */
int blkfront_wait(struct blkfront *dev, uint64_t deadline_ns);
unsigned blkfront_inflight(const struct blkfront *dev);
bool blkfront_connected(const struct blkfront *dev);

/* One request, waited for. Returns 0, -EIO for BLKIF_RSP_ERROR, -EOPNOTSUPP, or submit's
 * errors. */
int blkfront_io_sync(struct blkfront *dev, uint8_t op, uint64_t sector, void *buf, size_t len,
                     uint64_t deadline_ns);

/* The resume hook: forgets the old backend, does the handshake with the one the toolstack
 * made for the new domain and replays the unanswered requests. On failure the device is
 * detached as when its backend goes away (requests fail, state BACKEND_GONE). */
int blkfront_reconnect(struct blkfront *dev, uint64_t deadline_ns);

/* Guest-initiated detach: waits for in-flight requests, Closing, waits for the backend to close,
 * Closed; revokes every grant and closes the event channels. */
int blkfront_close(struct blkfront *dev, uint64_t deadline_ns);

/* ---- For hostile tests: the raw ring, bypassing every check ---------------------------- */
/* Copies raw onto queue q (its id replaced by a slot's) and pushes it. -EBUSY when full. */
int blkfront_submit_raw(struct blkfront *dev, unsigned q, const struct blkif_request *raw,
                        uint64_t tag);
void blkfront_set_raw_handler(struct blkfront *dev, blkfront_raw_fn fn, void *ctx);

/* Internal, shared by blkfront.c and blkfront_ring.c. */
int blkfront_ring_setup(struct blkfront *dev);
void blkfront_ring_teardown(struct blkfront *dev, uint64_t deadline_ns);
void blkfront_fail_inflight(struct blkfront *dev);
void blkfront_follow_backend(struct blkfront *dev);
/* stale: the grants' busy bits came from another host (gnttab_forget); otherwise each grant
 * is ended, and leaked if the old backend still maps it. */
void blkfront_ring_forget(struct blkfront *dev, bool stale);
void blkfront_ring_replay(struct blkfront *dev);

#endif
