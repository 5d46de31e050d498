/* Replays the device fuzz corpus (hypervisor/tests/corpus_devices) through the fuzz target,
 * built with gcc and the sanitizers: every input the fuzzer kept must still run clean. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

Test(devices_fuzz, every_corpus_input_runs_without_a_fault)
{
    DIR *dir = opendir(DEVICES_CORPUS_DIR);
    cr_assert_not_null(dir);
    unsigned n = 0;
    static unsigned char buf[1 << 16];
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", DEVICES_CORPUS_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        n++;
    }
    closedir(dir);
    cr_assert_gt(n, 10, "the corpus holds more than a few inputs");
}
