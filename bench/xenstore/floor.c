/* The benchmark's floor: a "daemon" that stores nothing and answers every request at once
 * (READ with a one-byte value, TRANSACTION_START with id 1, anything else "OK") using the
 * fewest syscalls a poll-based server can: what the client and the kernel's unix-socket round
 * trip cost with no daemon work at all. No real xenstored can beat it on one connection. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#define FLOOR_MAX_CONNS 16

/* Returns false when the connection ended or sent something unusable. */
static bool floor_serve_one(int fd)
{
    struct {
        struct xsd_sockmsg h;
        char body[XENSTORE_PAYLOAD_MAX];
    } m;
    ssize_t n = recv(fd, &m, sizeof(m.h), MSG_WAITALL);
    if (n != (ssize_t)sizeof(m.h) || m.h.len > XENSTORE_PAYLOAD_MAX)
        return false;
    if (m.h.len && recv(fd, m.body, m.h.len, MSG_WAITALL) != (ssize_t)m.h.len)
        return false;
    const char *reply = m.h.type == XS_READ ? "v" : m.h.type == XS_TRANSACTION_START ? "1" : "OK";
    m.h.len = (uint32_t)strlen(reply) + (m.h.type == XS_READ ? 0 : 1);
    memcpy(m.body, reply, m.h.len);
    return send(fd, &m, sizeof(m.h) + m.h.len, MSG_NOSIGNAL) == (ssize_t)(sizeof(m.h) + m.h.len);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s SOCKET [POLL_US]\n", argv[0]);
        return 2;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(a.sun_path)) {
        fprintf(stderr, "floor: socket path too long: %s\n", argv[1]);
        return 1;
    }
    strcpy(a.sun_path, argv[1]);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    unlink(argv[1]);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16)) {
        perror("floor: listen");
        return 1;
    }
    struct pollfd p[FLOOR_MAX_CONNS + 1] = {{.fd = lfd, .events = POLLIN}};
    int np = 1;
    /* POLL_US > 0: after serving, keep polling without sleeping for that long (the same
     * busy-poll window as xenstored's --poll-us), to measure what it can gain at best. */
    long long poll_ns = argc == 3 ? atoll(argv[2]) * 1000 : 0, until = 0;
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
        int r = poll(p, (nfds_t)np, now < until ? 0 : -1);
        if (r <= 0)
            continue;
        if (poll_ns) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            until = ts.tv_sec * 1000000000LL + ts.tv_nsec + poll_ns;
        }
        for (int i = np - 1; i >= 1; i--) {
            if (p[i].revents && !floor_serve_one(p[i].fd)) {
                close(p[i].fd);
                p[i] = p[--np];
            }
        }
        if (p[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0 && np <= FLOOR_MAX_CONNS)
                p[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
            else if (fd >= 0)
                close(fd);
        }
    }
}
