/* The driver domain's C library: the POSIX integer types the backend cores use. */
#ifndef DDOM_SYS_TYPES_H
#define DDOM_SYS_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef long ssize_t;
typedef long off_t;

#endif
