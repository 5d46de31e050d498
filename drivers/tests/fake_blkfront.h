/* A fake Linux 6.1 xen-blkfront over the fake platform, plus the toolstack's part (libxl's
 * vbd layout). It writes the exact keys blkfront writes: ring-page-order (only when > 0),
 * ring-ref or ring-ref<N>, event-channel, multi-queue-num-queues with queue-<N>/..., protocol
 * "x86_64-abi" and feature-persistent, in one transaction, then Initialised. */
#ifndef KXEN_DRIVERS_TESTS_FAKE_BLKFRONT_H
#define KXEN_DRIVERS_TESTS_FAKE_BLKFRONT_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/io/blkif.h>

#include "../block/blkback.h"
#include "fake_platform.h"

#define FB_DOMID 5
#define FB_DEVID 51712 /* xvda */
#define FB_MAX_QUEUES 4

struct fb_queue {
    blkif_front_ring_t front;
    void *sring;
    uint32_t refs[16];
    uint32_t port;
};

struct fake_blkfront {
    struct fake_platform *fp;
    struct blkback *bb;
    char fe[128], be[128];
    unsigned int order, nr_queues;
    bool persistent;
    struct fb_queue q[FB_MAX_QUEUES];
};

/* libxl's device_disk_add: backend and frontend directories, both in state 1. */
void fb_toolstack_add(struct fake_platform *fp, uint32_t domid, uint32_t devid, const char *image,
                      const char *mode);
/* libxl's graceful remove: online=0 and state=5 on the backend. */
void fb_toolstack_remove(struct fake_platform *fp, uint32_t domid, uint32_t devid);

void fb_init(struct fake_blkfront *fb, struct fake_platform *fp, struct blkback *bb,
             unsigned int order, unsigned int nr_queues, bool persistent);
/* Runs the backend until pred(fb) holds (or ~3 s): xenstore, events, completions. */
bool fb_pump(struct fake_blkfront *fb, bool (*pred)(struct fake_blkfront *fb));
int fb_backend_state(struct fake_blkfront *fb);
int fb_read_be_uint(struct fake_blkfront *fb, const char *key, uint64_t *v);
/* talk_to_blkback: grants the rings, writes the keys, switches to Initialised. */
void fb_talk(struct fake_blkfront *fb);
/* The whole handshake up to both ends Connected; false if the backend did not get there. */
bool fb_connect(struct fake_blkfront *fb);
void fb_set_state(struct fake_blkfront *fb, int state);

/* Queues a raw request on queue q and notifies. */
void fb_push(struct fake_blkfront *fb, unsigned int q, const void *req);
/* Waits for the next response on queue q; false on timeout. */
bool fb_wait_response(struct fake_blkfront *fb, unsigned int q, struct blkif_response *rsp);
/* One read or write of nsegs whole pages at sector, through fresh granted pages; data is
 * copied in (write) or out (read). Returns the response status. */
int fb_rw(struct fake_blkfront *fb, unsigned int q, uint8_t op, uint64_t sector, unsigned int nsegs,
          void *data);

#endif
