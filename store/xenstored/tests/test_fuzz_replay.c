/* Replays the fuzz corpus (store/xenstored/tests/corpus): every input must leave the daemon
 * serving correctly, with no crash, leak or sanitizer report. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_one.h"

#ifndef XS_CORPUS_DIR
#define XS_CORPUS_DIR "store/xenstored/tests/corpus"
#endif

Test(fuzz, corpus_inputs_leave_the_daemon_serving)
{
    DIR *d = opendir(XS_CORPUS_DIR);
    cr_assert_not_null(d, "corpus %s missing", XS_CORPUS_DIR);
    struct dirent *e;
    int n = 0;
    static uint8_t buf[1 << 16];
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".bin"))
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", XS_CORPUS_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f);
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        cr_assert_eq(xs_fuzz_one(buf, len), 0, "%s broke the daemon", e->d_name);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 10);
}

Test(fuzz, hand_written_hostile_inputs_leave_the_daemon_serving)
{
    /* header only, length beyond the payload maximum, a NUL-less path, a giant type */
    const uint8_t cases[][40] = {
        {1, 8, 0, 2, 0, 0, 0, 1, 0, 0, 0},
        {1, 16, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0},
        {1, 20, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, '/', 'a', 'b', 'c'},
        {0, 16, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(xs_fuzz_one(cases[i], sizeof(cases[i])), 0, "case %zu", i);
}
