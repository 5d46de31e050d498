/* Replays the fuzz corpus (ring/tests/corpus) through the fuzz harness, built with gcc and the
 * sanitizers: every input the fuzzer ever kept must still pass the safety checks. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_ring.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static size_t replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open corpus %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static unsigned char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len); /* aborts on a broken safety property */
        n++;
    }
    closedir(d);
    return n;
}

Test(ring_fuzz, every_corpus_input_keeps_the_safety_properties)
{
    size_t n = replay_dir(RING_CORPUS_DIR);
    cr_assert_gt(n, 10, "corpus too small (%zu inputs)", n);
}

/* An input that makes the peer claim 255 requests in a 32-slot ring is caught by the consumer
 * (an error, not a crash, and no request taken), and the ring stays dead for the next step. */
Test(ring_fuzz, an_overrunning_producer_is_refused_and_the_ring_stays_dead)
{
    /* op 0: peer write at offset 0, 4 bytes: req_prod = 0x000000ff; op 1: backend step (x2). */
    const unsigned char in[] = {0, 0, 0, 4, 0xff, 0, 0, 0, 1, 0xff, 1, 0xff};
    LLVMFuzzerTestOneInput(in, sizeof(in));
    cr_assert_eq(fuzz_ring_last.backend_steps, 2, "both backend steps ran");
    cr_assert_eq(fuzz_ring_last.backend_requests, 0, "%u requests taken from an overrun ring",
                 fuzz_ring_last.backend_requests);
    cr_assert_eq(fuzz_ring_last.backend_errors, 2, "each step reports the overrun (-EPROTO)");
    cr_assert(fuzz_ring_last.blk_dead, "the ring's guard is dead");
}

/* The same steps with a legal producer index: the requests are taken, nothing is refused (so the
 * test above fails for the overrun, not for anything in the script). */
Test(ring_fuzz, a_producer_within_the_ring_is_served)
{
    const unsigned char in[] = {0, 0, 0, 4, 5, 0, 0, 0, 1, 0xff, 1, 0xff};
    LLVMFuzzerTestOneInput(in, sizeof(in));
    cr_assert_eq(fuzz_ring_last.backend_steps, 2);
    cr_assert_eq(fuzz_ring_last.backend_requests, 5);
    cr_assert_eq(fuzz_ring_last.backend_errors, 0);
    cr_assert(!fuzz_ring_last.blk_dead);
}
