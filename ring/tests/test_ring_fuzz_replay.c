/* Replays the fuzz corpus (ring/tests/corpus) through the fuzz harness, built with gcc and the
 * sanitizers: every input the fuzzer ever kept must still pass the safety checks. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

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

/* The harness itself must be able to fail: an input that makes the peer claim 255 requests in a
 * 32-slot ring is caught by the consumer (not a crash), and the ring stays dead. */
Test(ring_fuzz, harness_survives_an_overrunning_producer)
{
    /* op 0: peer write at offset 0, 4 bytes: req_prod = 0x000000ff; op 1: backend step. */
    const unsigned char in[] = {0, 0, 0, 4, 0xff, 0, 0, 0, 1, 0xff, 1, 0xff};
    LLVMFuzzerTestOneInput(in, sizeof(in));
}
