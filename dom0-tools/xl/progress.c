/* Progress lines of xl save and xl restore (libkxl's kxl_progress reports, one per batch of
 * 1024 pages): at most one line a second and always the one at 100 %, so a quick save of a
 * small guest prints its final line only. Rates are of guest memory, MB = 10^6 bytes. On a
 * terminal (or with xl -t, Xen's "progress with CR") the line is rewritten in place. */
#include <stdio.h>
#include <string.h>

#include "progress.h"

void xl_progress_eta(char *buf, size_t len, double eta_s)
{
    if (eta_s < 0)
        snprintf(buf, len, "unknown");
    else if (eta_s < 10)
        snprintf(buf, len, "%.1f s", eta_s);
    else if (eta_s < 60)
        snprintf(buf, len, "%.0f s", eta_s);
    else if (eta_s < 360000) {
        unsigned s = (unsigned)(eta_s + 0.5);
        snprintf(buf, len, "%u min %02u s", s / 60, s % 60);
    } else
        snprintf(buf, len, "over 100 hours");
}

int xl_progress_format(char *buf, size_t len, const char *who, const struct kxl_progress *p)
{
    char eta[32], of[64] = "";
    xl_progress_eta(eta, sizeof(eta), p->eta_s);
    if (p->total) {
        /* A stream may hold a page twice (a migration's rounds): never past 100 %. */
        uint64_t pct = p->done >= p->total ? 100 : p->done * 100 / p->total;
        snprintf(of, sizeof(of), "/%llu pages (%llu%%)", (unsigned long long)p->total,
                 (unsigned long long)pct);
    } else {
        snprintf(of, sizeof(of), " pages");
    }
    return snprintf(buf, len, "%s: %llu%s in %.1f s, %.0f MB/s (%.0f pages/s), ETA %s", who,
                    (unsigned long long)p->done, of, p->elapsed_ns / 1e9, p->mb_per_s,
                    p->pages_per_s, eta);
}

void xl_progress_init(struct xl_progress *x, const char *who, bool cr, FILE *out)
{
    *x = (struct xl_progress){.who = who, .cr = cr, .out = out, .next_ns = 1000000000ull};
}

void xl_progress_show(void *opaque, const struct kxl_progress *p)
{
    struct xl_progress *x = opaque;
    bool last = p->total && p->done >= p->total;
    if (x->final || (!last && p->elapsed_ns < x->next_ns))
        return;
    x->next_ns = p->elapsed_ns + 1000000000ull;
    x->final = last;
    char line[256];
    int n = xl_progress_format(line, sizeof(line), x->who, p);
    if (!x->cr) {
        fprintf(x->out, "%s\n", line);
        return;
    }
    /* Blank what a longer line before left, then stay on the line until the last. */
    fprintf(x->out, "\r%-*s%s", x->width, line, last ? "\n" : "");
    fflush(x->out);
    x->width = n;
    x->pending = !last;
}

void xl_progress_done(struct xl_progress *x)
{
    if (x->pending)
        fputc('\n', x->out);
    x->pending = false;
}
