/* eventfd helpers for the interop and stress tests. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "interop.h"

int interop_wait(int efd)
{
    struct pollfd p = {.fd = efd, .events = POLLIN};
    int r = poll(&p, 1, 5000);
    if (r <= 0) {
        fprintf(stderr, "no notification within 5 s (lost wake-up?)\n");
        return -1;
    }
    uint64_t v;
    if (read(efd, &v, sizeof(v)) != sizeof(v))
        return -1;
    return 0;
}

void interop_kick(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) != sizeof(one))
        perror("eventfd write");
}
