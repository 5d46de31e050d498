/* Formatting (printf.c, pure: also built for the host unit tests) and console printing.
 * Conversions: %d %i %u %x %X %c %s %p %% with the l, ll and z length modifiers, a width
 * (digits or *), flags '0' and '-', and a precision for %s (digits or *). */
#ifndef GUEST_PRINTF_H
#define GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* C99 semantics: writes at most size bytes including the NUL (when size > 0) and returns the
 * length the full output would have. An unknown conversion is copied through literally. */
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifndef GUEST_HOST_BUILD
/* To the PV console ring once it is set up, to the hypervisor console before that. One call
 * formats at most 511 bytes; the rest is cut. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* To the hypervisor console (console_io, what `xl dmesg` shows) and, when set up, also to the
 * PV console ring: test results go here. */
int hv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif

#endif
