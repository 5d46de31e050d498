/* Progress lines of xl save and xl restore on stderr (progress.c). Kept apart from xl.h so
 * that the unit test builds progress.c alone. */
#ifndef XL_PROGRESS_H
#define XL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kxl/kxl.h"

/* "WHO: DONE/TOTAL pages (P%) in E s, R MB/s (N pages/s), ETA T s" (without a total: "WHO:
 * DONE pages in ..., ETA unknown") into buf; returns what snprintf returns. */
int xl_progress_format(char *buf, size_t len, const char *who, const struct kxl_progress *p);
/* An ETA as a person reads it: "0.6 s", "42 s", "3 min 05 s", or "unknown" (eta_s < 0). */
void xl_progress_eta(char *buf, size_t len, double eta_s);

/* One operation's lines: a line at most once a second and the one at 100 %; cr (a terminal,
 * or xl -t as Xen's) rewrites one line in place instead. */
struct xl_progress {
    const char *who;
    bool cr;
    FILE *out;
    uint64_t next_ns; /* elapsed time before which no next line is due */
    int width;        /* of the line on screen (cr), to blank what a shorter one leaves */
    bool pending;     /* cr: a line without its newline is on screen */
    bool final;       /* the 100 % line is out */
};
void xl_progress_init(struct xl_progress *x, const char *who, bool cr, FILE *out);
/* The kxl_progress_fn: opaque is a struct xl_progress. */
void xl_progress_show(void *opaque, const struct kxl_progress *p);
/* Ends a line left open in place (the operation failed before 100 %). */
void xl_progress_done(struct xl_progress *x);

#endif
