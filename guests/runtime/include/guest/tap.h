/* TAP-style results on the hypervisor console (mirrored to the PV console): "ok N - what" /
 * "not ok N - what (detail)", then "1..N" and "RESULT PASS" or "RESULT FAIL". */
#ifndef GUEST_TAP_H
#define GUEST_TAP_H

#include <stdbool.h>

/* One result line; returns cond. */
bool tap_check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ok when got == want, else a not-ok line that shows both values. */
bool tap_rc(long got, long want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A test that cannot run here: "ok N - what # SKIP why". */
void tap_skip(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the plan and the RESULT line; returns 0 when every check passed, else 1. */
int tap_finish(void);
unsigned tap_failures(void);

#endif
