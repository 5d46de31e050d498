/* Random-input driver for the xenstored message parser and handlers.
 *   xenstored-fuzz --random N [--seed S]   N generated inputs (mutated valid traffic)
 *   xenstored-fuzz --write-corpus DIR      writes the seed corpus (deterministic)
 *   xenstored-fuzz FILE...                 replays inputs
 * Built with clang -fsanitize=fuzzer and -DXS_LIBFUZZER it is a libFuzzer target instead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/fuzz_one.h"
#include "kxen/io/xs_wire.h"

#ifdef XS_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (xs_fuzz_one(data, len))
        abort();
    return 0;
}
#else

static uint64_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static const char *const words[] = {
    "/",
    "/a",
    "/a/b",
    "a",
    "a/b/c",
    "/local/domain/5",
    "name",
    "/local/domain/5/x",
    "@introduceDomain",
    "@releaseDomain",
    "@bogus",
    "/a//b",
    "/a/",
    "",
    "T",
    "F",
    "0",
    "5",
    "4294967296",
    "-1",
    "r5",
    "b0",
    "n5",
    "w7",
    "x1",
    "help",
    "quota",
    "print",
    "log",
    "on",
    "set",
    "entry-nb",
    "10",
    "token",
    "/local/domain/5/data/q",
    "\xff\xfe",
    "CREATE",
};

/* One message: mostly well-formed, sometimes lying about its length or type. */
static size_t gen_msg(uint8_t *out, size_t room)
{
    uint8_t body[600];
    size_t blen = 0;
    int nargs = (int)(rnd() % 5);
    for (int k = 0; k < nargs; k++) {
        const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
        size_t l = strlen(w);
        if (blen + l + 1 > sizeof(body))
            break;
        memcpy(body + blen, w, l);
        blen += l;
        if (rnd() % 8)
            body[blen++] = '\0';
    }
    if (rnd() % 10 == 0)
        for (int k = rnd() % 64; k > 0 && blen < sizeof(body); k--)
            body[blen++] = (uint8_t)rnd();
    struct xsd_sockmsg h = {rnd() % (XS_TYPE_COUNT + 2), rnd() % 4, rnd() % 6 == 0 ? rnd() % 4 : 0,
                            (uint32_t)blen};
    if (rnd() % 40 == 0)
        h.len = rnd() % 3 ? (uint32_t)blen + rnd() % 8 : rnd();
    if (rnd() % 30 == 0)
        h.type = rnd();
    if (sizeof(h) + blen > room)
        return 0;
    memcpy(out, &h, sizeof(h));
    memcpy(out + sizeof(h), body, blen);
    return sizeof(h) + blen;
}

static size_t gen_input(uint8_t *out, size_t room)
{
    size_t len = 0;
    int chunks = 1 + (int)(rnd() % 12);
    for (int c = 0; c < chunks; c++) {
        uint8_t buf[4096];
        size_t n = 0;
        int msgs = 1 + (int)(rnd() % 4);
        for (int k = 0; k < msgs; k++)
            n += gen_msg(buf + n, sizeof(buf) - n);
        if (n && rnd() % 6 == 0)
            n -= rnd() % n; /* truncated */
        if (len + 3 + n > room)
            break;
        out[len] = (uint8_t)(rnd() % 4);
        out[len + 1] = (uint8_t)n;
        out[len + 2] = (uint8_t)(n >> 8);
        memcpy(out + len + 3, buf, n);
        len += 3 + n;
    }
    return len;
}

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return xs_fuzz_one(buf, n);
}

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 16];
    rng = 0x9e3779b97f4a7c15ull;
    if (argc >= 3 && strcmp(argv[1], "--random") == 0) {
        long n = strtol(argv[2], NULL, 10);
        if (argc >= 5 && strcmp(argv[3], "--seed") == 0)
            rng ^= strtoull(argv[4], NULL, 10) * 0x2545F4914F6CDD1Dull;
        for (long i = 0; i < n; i++) {
            size_t len = gen_input(buf, sizeof(buf));
            if (xs_fuzz_one(buf, len)) {
                fprintf(stderr, "input %ld broke the daemon\n", i);
                return 1;
            }
        }
        printf("%ld random inputs, %llu requests handled, daemon intact\n", n, xs_fuzz_requests);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        for (int i = 0; i < 24; i++) {
            size_t len = gen_input(buf, sizeof(buf));
            char path[512];
            snprintf(path, sizeof(path), "%s/gen-%02d.bin", argv[2], i);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, len, f) != len) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return 1;
            }
            fclose(f);
        }
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr,
                "usage: xenstored-fuzz --random N [--seed S] | --write-corpus DIR | FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (replay(argv[i])) {
            fprintf(stderr, "%s broke the daemon\n", argv[i]);
            return 1;
        }
    return 0;
}
#endif
