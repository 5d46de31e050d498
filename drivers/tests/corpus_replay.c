/* Fuzz corpus replay for the drivers' unit tests (corpus_replay.h). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "corpus_replay.h"

void corpus_replay(const char *dir, size_t maxlen, int (*one)(const unsigned char *, size_t))
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open corpus %s", dir);
    unsigned char *buf = malloc(maxlen);
    cr_assert_not_null(buf);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        size_t len = fread(buf, 1, maxlen, f);
        fclose(f);
        one(buf, len);
        n++;
    }
    closedir(d);
    free(buf);
    cr_assert_gt(n, 10, "corpus %s too small (%zu inputs)", dir, n);
}
