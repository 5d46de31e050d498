/* The driver domain's C library: descriptors are the in-guest eventfds and epoll sets of
 * sys/eventfd.h and sys/epoll.h (libc.c); nothing else has one. */
#ifndef DDOM_UNISTD_H
#define DDOM_UNISTD_H

#include <sys/types.h>

ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);

#endif
