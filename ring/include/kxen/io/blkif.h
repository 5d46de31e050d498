/* Block device protocol (vbd): the ring between blkfront and blkback, and the xenstore keys of
 * the handshake. Xen's names, numbers and layouts (checked by ring/tests); kxen's text.
 *
 * A request names up to BLKIF_MAX_SEGMENTS_PER_REQUEST granted pages; in each page it covers
 * 512-byte sectors first_sect..last_sect (inclusive, 0..7 in a 4 KiB page). Sector numbers are
 * always in 512-byte units. With BLKIF_OP_INDIRECT the segments live in separately granted
 * pages instead (BLKIF_SEGS_PER_INDIRECT_FRAME per page) and the real operation is in
 * indirect_op. Responses carry the request's id back; the backend may complete out of order. */
#ifndef KXEN_IO_BLKIF_H
#define KXEN_IO_BLKIF_H

#include <kxen/io/ring.h>
#include <kxen/grant_table.h>

#ifndef blkif_vdev_t
#define blkif_vdev_t uint16_t
#endif
#define blkif_sector_t uint64_t

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2   /* needs feature-barrier */
#define BLKIF_OP_FLUSH_DISKCACHE 3 /* needs feature-flush-cache; may carry no segment */
#define BLKIF_OP_RESERVED_1 4
#define BLKIF_OP_DISCARD 5  /* needs feature-discard; struct blkif_request_discard */
#define BLKIF_OP_INDIRECT 6 /* needs feature-max-indirect-segments */

#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8

/* Sector unit of first_sect/last_sect/sector_number, whatever the disk's sector-size. */
#define KXEN_BLKIF_SECTOR_SHIFT 9
#define KXEN_BLKIF_SECTOR_SIZE 512
#define KXEN_BLKIF_PAGE_SIZE 4096
#define KXEN_BLKIF_SECTORS_PER_PAGE (KXEN_BLKIF_PAGE_SIZE / KXEN_BLKIF_SECTOR_SIZE)

struct blkif_request_segment {
    grant_ref_t gref;
    uint8_t first_sect, last_sect;
};

/* Segments in one indirect page, and the most one request can carry. */
#define BLKIF_SEGS_PER_INDIRECT_FRAME (KXEN_BLKIF_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define KXEN_BLKIF_MAX_INDIRECT_SEGMENTS                                                           \
    (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKIF_SEGS_PER_INDIRECT_FRAME)

struct blkif_request {
    uint8_t operation;   /* BLKIF_OP_* */
    uint8_t nr_segments; /* 1..BLKIF_MAX_SEGMENTS_PER_REQUEST (0 allowed for a flush) */
    blkif_vdev_t handle;
    uint64_t id; /* echoed in the response */
    blkif_sector_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
typedef struct blkif_request blkif_request_t;

struct blkif_request_discard {
    uint8_t operation; /* BLKIF_OP_DISCARD */
    uint8_t flag;
#define BLKIF_DISCARD_SECURE (1 << 0)
    blkif_vdev_t handle;
    uint64_t id;
    blkif_sector_t sector_number;
    uint64_t nr_sectors;
};
typedef struct blkif_request_discard blkif_request_discard_t;

struct blkif_request_indirect {
    uint8_t operation;    /* BLKIF_OP_INDIRECT */
    uint8_t indirect_op;  /* BLKIF_OP_READ or BLKIF_OP_WRITE */
    uint16_t nr_segments; /* 1..feature-max-indirect-segments */
    uint64_t id;
    blkif_sector_t sector_number;
    blkif_vdev_t handle;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};
typedef struct blkif_request_indirect blkif_request_indirect_t;

struct blkif_response {
    uint64_t id;
    uint8_t operation;
    int16_t status; /* BLKIF_RSP_* */
};
typedef struct blkif_response blkif_response_t;

#define BLKIF_RSP_EOPNOTSUPP -2
#define BLKIF_RSP_ERROR -1
#define BLKIF_RSP_OKAY 0

DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);

/* "info" bits */
#define VDISK_CDROM 0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY 0x4

/* ---- xenstore keys (names are the protocol) ----------------------------------------------
 * Backend directory, written by the toolstack: */
#define BLKIF_KEY_MODE "mode" /* "r" or "w" */
#define BLKIF_KEY_PARAMS "params"
#define BLKIF_KEY_TYPE "type"
#define BLKIF_KEY_PHYSICAL_DEVICE "physical-device"
/* Backend directory, written by the backend: */
#define BLKIF_KEY_FEATURE_BARRIER "feature-barrier"
#define BLKIF_KEY_FEATURE_FLUSH_CACHE "feature-flush-cache"
#define BLKIF_KEY_FEATURE_DISCARD "feature-discard"
#define BLKIF_KEY_FEATURE_PERSISTENT "feature-persistent"
#define BLKIF_KEY_FEATURE_MAX_INDIRECT_SEGMENTS "feature-max-indirect-segments"
#define BLKIF_KEY_MAX_RING_PAGE_ORDER "max-ring-page-order"
#define BLKIF_KEY_MULTI_QUEUE_MAX_QUEUES "multi-queue-max-queues"
#define BLKIF_KEY_DISCARD_ENABLE "discard-enable"
#define BLKIF_KEY_DISCARD_ALIGNMENT "discard-alignment"
#define BLKIF_KEY_DISCARD_GRANULARITY "discard-granularity"
#define BLKIF_KEY_DISCARD_SECURE "discard-secure"
#define BLKIF_KEY_INFO "info"
#define BLKIF_KEY_SECTOR_SIZE "sector-size"
#define BLKIF_KEY_PHYSICAL_SECTOR_SIZE "physical-sector-size"
#define BLKIF_KEY_SECTORS "sectors"
/* Frontend directory, written by the frontend: */
#define BLKIF_KEY_RING_REF "ring-ref" /* or ring-ref0.. with ring-page-order */
#define BLKIF_KEY_RING_PAGE_ORDER "ring-page-order"
#define BLKIF_KEY_EVENT_CHANNEL "event-channel"
#define BLKIF_KEY_PROTOCOL "protocol"
#define BLKIF_KEY_MULTI_QUEUE_NUM_QUEUES "multi-queue-num-queues"
#define BLKIF_KEY_VIRTUAL_DEVICE "virtual-device"
#define BLKIF_KEY_DEVICE_TYPE "device-type" /* "disk" or "cdrom" */

#endif
