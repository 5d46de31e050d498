/* The driver domain's C library: poll over the guest's eventfds. A storage engine completes
 * requests before submit returns, so nothing in the guest ever needs to block here. */
#ifndef DDOM_POLL_H
#define DDOM_POLL_H

#define POLLIN 0x001

struct pollfd {
    int fd;
    short events;
    short revents;
};

int poll(struct pollfd *fds, unsigned long n, int timeout);

#endif
