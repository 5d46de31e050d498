/* The driver domain's C library: the runtime's mem and str functions, and the few more the
 * backend cores call. */
#ifndef DDOM_STRING_H
#define DDOM_STRING_H

#include <stddef.h>

#include "guest/lib.h"

char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *hay, const char *needle);
size_t strcspn(const char *s, const char *reject);
char *strerror(int err);

#endif
