/* Request validation: everything a frontend controls in a request is checked here, on the copy
 * taken off the ring, before any grant is mapped or any byte of the disk is touched. A pure
 * function of its inputs, so the fuzz target (drivers/tests/fuzz_blkreq.c) drives it directly. */
#include <string.h>

#include "blkback.h"

static int parse_discard(const struct blkif_request *raw, const struct blkback_limits *lim,
                         struct blkback_req *out)
{
    struct blkif_request_discard d;
    memcpy(&d, raw, sizeof(d));
    if (!lim->discard)
        return BLKIF_RSP_EOPNOTSUPP;
    if (lim->readonly)
        return BLKIF_RSP_ERROR; /* Buggy or malicious guest: discard on a read-only disk. */
    /* Buggy or malicious guest: range outside the disk (or wrapping). */
    if (d.nr_sectors == 0 || d.sector_number >= lim->nr_sectors ||
        d.nr_sectors > lim->nr_sectors - d.sector_number)
        return BLKIF_RSP_ERROR;
    out->sector = d.sector_number;
    out->nr_discard_sectors = d.nr_sectors;
    return BLKIF_RSP_OKAY;
}

static int parse_indirect(const struct blkif_request *raw, const struct blkback_limits *lim,
                          struct blkback_req *out)
{
    struct blkif_request_indirect in;
    memcpy(&in, raw, sizeof(in));
    out->id = in.id;
    if (in.indirect_op != BLKIF_OP_READ && in.indirect_op != BLKIF_OP_WRITE)
        return BLKIF_RSP_ERROR; /* Buggy or malicious guest: only reads and writes. */
    out->op = in.indirect_op;
    if (lim->max_indirect_segments == 0)
        return BLKIF_RSP_EOPNOTSUPP;
    /* Buggy or malicious guest: more segments than we advertised. */
    if (in.nr_segments == 0 || in.nr_segments > lim->max_indirect_segments ||
        in.nr_segments > KXEN_BLKIF_MAX_INDIRECT_SEGMENTS)
        return BLKIF_RSP_ERROR;
    if (out->op == BLKIF_OP_WRITE && lim->readonly)
        return BLKIF_RSP_ERROR;
    out->indirect = true;
    out->nr_segs = in.nr_segments;
    out->nr_indirect_pages = (unsigned int)((in.nr_segments + BLKIF_SEGS_PER_INDIRECT_FRAME - 1) /
                                            BLKIF_SEGS_PER_INDIRECT_FRAME);
    memcpy(out->indirect_grefs, in.indirect_grefs,
           out->nr_indirect_pages * sizeof(out->indirect_grefs[0]));
    out->sector = in.sector_number;
    if (out->sector >= lim->nr_sectors)
        return BLKIF_RSP_ERROR; /* Buggy or malicious guest: starts past the end. */
    return BLKIF_RSP_OKAY;
}

int blkback_parse_request(const struct blkif_request *raw, const struct blkback_limits *lim,
                          struct blkback_req *out)
{
    memset(out, 0, sizeof(*out));
    out->id = raw->id;
    out->op = raw->operation;
    switch (raw->operation) {
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        break;
    case BLKIF_OP_FLUSH_DISKCACHE:
        /* Linux's blkfront sends flushes without segments; one that carries data is a write
         * followed by a flush, as in Linux's blkback. */
        if (raw->nr_segments == 0)
            return BLKIF_RSP_OKAY;
        break;
    case BLKIF_OP_DISCARD:
        return parse_discard(raw, lim, out);
    case BLKIF_OP_INDIRECT:
        return parse_indirect(raw, lim, out);
    default:
        return BLKIF_RSP_EOPNOTSUPP; /* barriers and unknown ops were never advertised */
    }
    /* Buggy or malicious guest: 1..11 segments in a direct request. */
    if (raw->nr_segments == 0 || raw->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        return BLKIF_RSP_ERROR;
    if (raw->operation != BLKIF_OP_READ && lim->readonly)
        return BLKIF_RSP_ERROR; /* Buggy or malicious guest: write to a read-only disk. */
    out->nr_segs = raw->nr_segments;
    out->sector = raw->sector_number;
    memcpy(out->seg, raw->seg, out->nr_segs * sizeof(out->seg[0]));
    uint64_t total;
    return blkback_check_segments(out->seg, out->nr_segs, out, lim, &total);
}

int blkback_check_segments(const struct blkif_request_segment *segs, unsigned int n,
                           const struct blkback_req *req, const struct blkback_limits *lim,
                           uint64_t *total)
{
    uint64_t sum = 0;
    for (unsigned int i = 0; i < n; i++) {
        /* Buggy or malicious guest: a segment outside its page, or reversed. */
        if (segs[i].last_sect >= KXEN_BLKIF_SECTORS_PER_PAGE ||
            segs[i].first_sect > segs[i].last_sect)
            return BLKIF_RSP_ERROR;
        sum += (uint64_t)(segs[i].last_sect - segs[i].first_sect) + 1;
    }
    /* Buggy or malicious guest: the request ends past the disk (sum <= 8 * 4096, no wrap
     * since sector < nr_sectors is compared by subtraction). */
    if (req->sector >= lim->nr_sectors || sum > lim->nr_sectors - req->sector)
        return BLKIF_RSP_ERROR;
    *total = sum;
    return BLKIF_RSP_OKAY;
}
