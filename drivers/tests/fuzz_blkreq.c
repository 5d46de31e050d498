/* Fuzz target for blkback's request validation (blkback_req.c).
 *
 * Input: a raw ring slot (sizeof(struct blkif_request) bytes), then the disk's limits (flags,
 * max indirect segments, size), then the bytes of the indirect pages. After validation the
 * harness checks what a request that was accepted promises the data plane, and aborts (a crash
 * for the fuzzer, a failure for the replay test) if one promise breaks:
 *   - only READ, WRITE, FLUSH_DISKCACHE (with or without data) or DISCARD are accepted, and
 *     nothing that writes on a read-only disk;
 *   - a direct request has 1..11 segments, an indirect one 1..max segments in as many pages as
 *     they need;
 *   - every accepted segment lies inside its page, and the whole request inside the disk,
 *     without wrapping.
 * Built with clang -fsanitize=fuzzer (make blkreq-fuzz) and with gcc into test_drivers, which
 * replays drivers/tests/corpus_blkreq. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../block/blkback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define LIMITS_LEN 11

static void check_segs(const struct blkif_request_segment *s, unsigned int n,
                       const struct blkback_req *req, const struct blkback_limits *lim)
{
    uint64_t sum = 0;
    for (unsigned int i = 0; i < n; i++) {
        CHECK(s[i].first_sect <= s[i].last_sect && s[i].last_sect < 8);
        sum += (uint64_t)(s[i].last_sect - s[i].first_sect) + 1;
    }
    CHECK(req->sector < lim->nr_sectors && sum <= lim->nr_sectors - req->sector);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct blkif_request raw;
    if (size < sizeof(raw) + LIMITS_LEN)
        return 0;
    memcpy(&raw, data, sizeof(raw));
    const uint8_t *l = data + sizeof(raw);
    struct blkback_limits lim = {.readonly = l[0] & 1, .discard = (l[0] >> 1) & 1};
    lim.max_indirect_segments = (unsigned int)(l[1] | l[2] << 8) % 4097;
    uint64_t sectors;
    memcpy(&sectors, l + 3, sizeof(sectors));
    lim.nr_sectors = sectors;
    const uint8_t *pages = l + LIMITS_LEN;
    size_t pages_len = size - sizeof(raw) - LIMITS_LEN;

    struct blkback_req req;
    int st = blkback_parse_request(&raw, &lim, &req);
    CHECK(st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP);
    CHECK(req.id == raw.id);
    if (st != BLKIF_RSP_OKAY)
        return 0;
    switch (req.op) {
    case BLKIF_OP_FLUSH_DISKCACHE:
        if (req.nr_segs == 0)
            return 0;
        break; /* a flush with data: checked as a write */
    case BLKIF_OP_DISCARD:
        CHECK(!lim.readonly && lim.discard && req.nr_discard_sectors > 0);
        CHECK(req.sector < lim.nr_sectors && req.nr_discard_sectors <= lim.nr_sectors - req.sector);
        return 0;
    case BLKIF_OP_READ:
    case BLKIF_OP_WRITE:
        break;
    default:
        abort();
    }
    CHECK(!(req.op != BLKIF_OP_READ && lim.readonly));
    if (!req.indirect) {
        CHECK(req.nr_segs >= 1 && req.nr_segs <= BLKIF_MAX_SEGMENTS_PER_REQUEST);
        check_segs(req.seg, req.nr_segs, &req, &lim);
        return 0;
    }
    CHECK(req.nr_segs >= 1 && req.nr_segs <= lim.max_indirect_segments);
    CHECK(req.nr_indirect_pages >= 1 &&
          req.nr_indirect_pages <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    CHECK((req.nr_indirect_pages - 1) * BLKIF_SEGS_PER_INDIRECT_FRAME < req.nr_segs &&
          req.nr_segs <= req.nr_indirect_pages * BLKIF_SEGS_PER_INDIRECT_FRAME);
    /* The indirect pages' segments, as the data plane copies them (zero past the input). */
    size_t len = req.nr_segs * sizeof(struct blkif_request_segment);
    struct blkif_request_segment *segs = calloc(1, len);
    CHECK(segs);
    memcpy(segs, pages, pages_len < len ? pages_len : len);
    uint64_t total;
    if (blkback_check_segments(segs, req.nr_segs, &req, &lim, &total) == BLKIF_RSP_OKAY)
        check_segs(segs, req.nr_segs, &req, &lim);
    free(segs);
    return 0;
}
