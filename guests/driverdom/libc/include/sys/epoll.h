/* The driver domain's C library: an epoll set over the guest's eventfds (libc.c). */
#ifndef DDOM_SYS_EPOLL_H
#define DDOM_SYS_EPOLL_H

#include <stdint.h>

#define EPOLL_CLOEXEC 02000000
#define EPOLLIN 0x001
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
} epoll_data_t;

struct epoll_event {
    uint32_t events;
    epoll_data_t data;
} __attribute__((packed));

int epoll_create1(int flags);
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* Never blocks in the guest: timeout is ignored (the driver domain's loop waits). */
int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);

#endif
