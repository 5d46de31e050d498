/* The driver domain's C library: struct iovec (storage requests). */
#ifndef DDOM_SYS_UIO_H
#define DDOM_SYS_UIO_H

#include <stddef.h>

struct iovec {
    void *iov_base;
    size_t iov_len;
};

#endif
