/* Replays the request-validation fuzz corpus (drivers/tests/corpus_blkreq) through the fuzz
 * target, built with gcc and the sanitizers: every input the fuzzer kept must still keep the
 * target's promises. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "corpus_replay.h"
#include "../block/blkback.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

Test(blkreq_fuzz, every_corpus_input_keeps_the_validation_promises)
{
    corpus_replay(BLKREQ_CORPUS_DIR, 1 << 16, LLVMFuzzerTestOneInput);
}

/* The harness sees an accepted request: a valid 11-segment write on a writable disk. */
Test(blkreq_fuzz, a_valid_request_passes_through_the_harness)
{
    unsigned char in[sizeof(struct blkif_request) + 11];
    struct blkif_request r = {.operation = BLKIF_OP_WRITE, .nr_segments = 11, .id = 1};
    for (int i = 0; i < 11; i++)
        r.seg[i] = (struct blkif_request_segment){(grant_ref_t)i, 0, 7};
    memcpy(in, &r, sizeof(r));
    memset(in + sizeof(r), 0, 11);
    in[sizeof(r) + 3] = 0xff; /* 255 sectors... */
    in[sizeof(r) + 4] = 0x01; /* ... + 256 */
    struct blkback_limits lim = {.nr_sectors = 511};
    struct blkback_req req;
    cr_assert_eq(blkback_parse_request(&r, &lim, &req), BLKIF_RSP_OKAY);
    LLVMFuzzerTestOneInput(in, sizeof(in));
}
