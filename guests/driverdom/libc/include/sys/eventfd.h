/* The driver domain's C library: an eventfd is a counter in the guest (libc.c); write adds,
 * read takes the whole count or fails with EAGAIN when it is zero (always non-blocking). */
#ifndef DDOM_SYS_EVENTFD_H
#define DDOM_SYS_EVENTFD_H

#define EFD_NONBLOCK 04000
#define EFD_CLOEXEC 02000000

int eventfd(unsigned int initval, int flags);

#endif
