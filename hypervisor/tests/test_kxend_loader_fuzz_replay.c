/* Replays the loader fuzz corpus (hypervisor/tests/corpus_loader: bzImages with gzip and XZ
 * payloads, ELF images, and what a libFuzzer run grew from them) through the fuzz target,
 * built with gcc and the sanitizers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int loader_fuzz_one(const unsigned char *data, size_t size);

Test(loader_fuzz, every_corpus_input_is_parsed_or_refused_with_a_reason)
{
    DIR *d = opendir(LOADER_CORPUS_DIR);
    cr_assert_not_null(d, "cannot open corpus %s", LOADER_CORPUS_DIR);
    size_t n = 0;
    struct dirent *e;
    unsigned char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", LOADER_CORPUS_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        loader_fuzz_one(buf, len);
        n++;
    }
    closedir(d);
    free(buf);
    cr_assert_geq(n, 4, "corpus too small (%zu inputs)", n);
}
