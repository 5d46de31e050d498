/* Progress of xl save and xl restore: libkxl's rates and ETA, xl's line, and how often xl
 * prints one (at most once a second, always at 100 %, in place with CR when asked). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../xl/progress.h"

static struct kxl_progress at(uint64_t done, uint64_t total, double secs)
{
    struct kxl_progress p = {
        .op = "save", .done = done, .total = total, .elapsed_ns = (uint64_t)(secs * 1e9)};
    kxl_progress_rates(&p);
    return p;
}

Test(xlprogress, rates_and_eta_follow_the_pages_done_so_far)
{
    struct kxl_progress p = at(131072, 262144, 0.5);
    cr_assert_float_eq(p.pages_per_s, 262144, 1e-6);
    cr_assert_float_eq(p.mb_per_s, 262144 * 4096 / 1e6, 1e-6);
    cr_assert_float_eq(p.eta_s, 0.5, 1e-9, "the other half at the same rate");
}

Test(xlprogress, eta_is_zero_when_done_and_unknown_without_a_rate_or_total)
{
    cr_assert_eq(at(4096, 4096, 0.01).eta_s, 0);
    cr_assert_eq(at(0, 4096, 0.5).eta_s, -1, "no page yet: no rate");
    cr_assert_eq(at(1024, 4096, 0).eta_s, -1, "no time yet: no rate");
    cr_assert_eq(at(1024, 4096, 0).pages_per_s, 0);
    cr_assert_eq(at(1024, 0, 0.5).eta_s, -1, "no total: no ETA");
}

Test(xlprogress, the_line_names_pages_percent_rate_and_eta)
{
    char buf[256];
    struct kxl_progress p = at(131072, 262144, 0.5);
    xl_progress_format(buf, sizeof(buf), "xl save", &p);
    cr_assert_str_eq(buf, "xl save: 131072/262144 pages (50%) in 0.5 s, 1074 MB/s (262144 "
                          "pages/s), ETA 0.5 s");
    p = at(1024, 0, 0.5);
    xl_progress_format(buf, sizeof(buf), "xl restore", &p);
    cr_assert_str_eq(buf, "xl restore: 1024 pages in 0.5 s, 8 MB/s (2048 pages/s), ETA unknown");
    p = at(5000, 4096, 1);
    xl_progress_format(buf, sizeof(buf), "x", &p);
    cr_assert(strstr(buf, "(100%)"), "a page sent twice never makes more than 100 %%: %s", buf);
}

Test(xlprogress, eta_reads_as_seconds_then_minutes)
{
    char buf[32];
    xl_progress_eta(buf, sizeof(buf), 0.62);
    cr_assert_str_eq(buf, "0.6 s");
    xl_progress_eta(buf, sizeof(buf), 42.4);
    cr_assert_str_eq(buf, "42 s");
    xl_progress_eta(buf, sizeof(buf), 185);
    cr_assert_str_eq(buf, "3 min 05 s");
    xl_progress_eta(buf, sizeof(buf), -1);
    cr_assert_str_eq(buf, "unknown");
    xl_progress_eta(buf, sizeof(buf), 1e9);
    cr_assert_str_eq(buf, "over 100 hours");
}

/* Feeds reports at the given times (s) of a 4096-page operation, the last at 100 %, and
 * returns what was printed (free it). */
static char *shown(bool cr, const double *secs, unsigned n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    struct xl_progress x;
    xl_progress_init(&x, "xl save", cr, f);
    for (unsigned i = 0; i < n; i++) {
        struct kxl_progress p = at(i + 1 == n ? 4096 : 100 * (i + 1), 4096, secs[i]);
        xl_progress_show(&x, &p);
    }
    xl_progress_done(&x);
    fclose(f);
    return out;
}

static unsigned count(const char *s, char c)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

Test(xlprogress, a_quick_operation_prints_its_final_line_only)
{
    const double t[] = {0.01, 0.02, 0.03};
    char *out = shown(false, t, 3);
    cr_assert_eq(count(out, '\n'), 1, "%s", out);
    cr_assert(strstr(out, "4096/4096 pages (100%)"), "%s", out);
    free(out);
}

Test(xlprogress, lines_come_at_most_once_a_second_and_at_100_percent)
{
    const double t[] = {0.5, 1.1, 1.5, 2.0, 2.2, 2.3};
    char *out = shown(false, t, 6);
    /* 1.1 (first second over), 2.2 (a second after it), the final one */
    cr_assert_eq(count(out, '\n'), 3, "%s", out);
    cr_assert_eq(count(out, '\r'), 0);
    free(out);
}

Test(xlprogress, with_cr_one_line_is_rewritten_in_place)
{
    const double t[] = {1.1, 2.2, 2.3};
    char *out = shown(true, t, 3);
    cr_assert_eq(count(out, '\n'), 1, "one newline, after the last: %s", out);
    cr_assert_eq(count(out, '\r'), 3);
    cr_assert_eq(out[strlen(out) - 1], '\n');
    free(out);
}

Test(xlprogress, a_line_left_open_is_ended_when_the_operation_fails)
{
    const double t[] = {1.1};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct xl_progress x;
    xl_progress_init(&x, "xl restore", true, f);
    struct kxl_progress p = at(1024, 4096, t[0]);
    xl_progress_show(&x, &p);
    xl_progress_done(&x);
    fclose(f);
    cr_assert_eq(out[0], '\r');
    cr_assert_eq(out[strlen(out) - 1], '\n', "the error message starts on a line of its own");
    free(out);
}
