/* The driver domain's C library: formatting only (there are no files; logs go to the
 * console through the driver domain's log sink). */
#ifndef DDOM_STDIO_H
#define DDOM_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
