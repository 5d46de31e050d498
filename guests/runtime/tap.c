/* TAP result lines for test guests. */
#include <stdarg.h>
#include <stdbool.h>

#include "guest/printf.h"
#include "guest/tap.h"

static unsigned tap_n, tap_failed;

static bool report(bool cond, const char *detail, const char *fmt, va_list ap)
{
    char what[200];
    guest_vsnprintf(what, sizeof(what), fmt, ap);
    tap_n++;
    if (!cond)
        tap_failed++;
    hv_printf("%sok %u - %s%s\n", cond ? "" : "not ", tap_n, what, detail);
    return cond;
}

bool tap_check(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(cond, "", fmt, ap);
    va_end(ap);
    return cond;
}

bool tap_rc(long got, long want, const char *fmt, ...)
{
    char detail[64] = "";
    if (got != want)
        guest_snprintf(detail, sizeof(detail), " (got %ld, want %ld)", got, want);
    va_list ap;
    va_start(ap, fmt);
    report(got == want, detail, fmt, ap);
    va_end(ap);
    return got == want;
}

void tap_skip(const char *why, const char *fmt, ...)
{
    char detail[96];
    guest_snprintf(detail, sizeof(detail), " # SKIP %s", why);
    va_list ap;
    va_start(ap, fmt);
    report(true, detail, fmt, ap);
    va_end(ap);
}

unsigned tap_failures(void)
{
    return tap_failed;
}

int tap_finish(void)
{
    hv_printf("1..%u\n", tap_n);
    hv_printf("RESULT %s\n", tap_failed ? "FAIL" : "PASS");
    return tap_failed ? 1 : 0;
}
