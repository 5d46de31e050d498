/* libFuzzer target for the domain builder's parsers, on arbitrary bytes as a kernel file: the
 * bzImage setup header and payload decompression, then the ELF parser on the result (or on
 * the input itself). Promises: no crash or sanitizer report, a refusal always carries a
 * message, an accepted ELF's segments lie inside the RAM bound it was given.
 *   make loader-fuzz && build/fuzz/loader_fuzz -max_total_time=60 hypervisor/tests/corpus_loader
 * test_kxend replays the corpus under gcc's sanitizers (test_kxend_loader_fuzz_replay.c). */
#include <stdint.h>
#include <stdlib.h>

#include "../kxend/core.h"

#define FUZZ_RAM (64ull << 20)

#ifdef LOADER_REPLAY
#define LLVMFuzzerTestOneInput loader_fuzz_one
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    uint8_t *elf = NULL;
    size_t len = size;
    const uint8_t *img = data;
    if (loader_is_bzimage(data, size)) {
        msg[0] = 0;
        if (loader_bzimage_extract(data, size, &elf, &len, msg, sizeof(msg)) < 0) {
            if (!msg[0])
                abort();
            return 0;
        }
        img = elf;
    }
    struct elf_info info;
    msg[0] = 0;
    int rc = loader_parse(img, len, FUZZ_RAM, &info, msg, sizeof(msg));
    if (rc < 0 && !msg[0])
        abort();
    if (rc == 0 && (info.lo > info.hi || info.hi > FUZZ_RAM))
        abort();
    free(elf);
    return 0;
}
