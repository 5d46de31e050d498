/* Raw xenstore wire messages over a socket, for the daemon's socket-level tests (they talk to a
 * real xenstored process without the xs library). Included by one test file each. */
#ifndef XS_TEST_SOCK_MSG_H
#define XS_TEST_SOCK_MSG_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "kxen/io/xs_wire.h"
#include "kxen/util.h"

static inline void send_msg(int fd, uint32_t type, uint32_t req, const void *p, uint32_t len)
{
    struct xsd_sockmsg h = {type, req, 0, len};
    cr_assert_eq(write(fd, &h, sizeof(h)), sizeof(h));
    if (len)
        cr_assert_eq(write(fd, p, len), len);
}

/* One whole message: 0, or -1 on a short read or a length over the protocol's payload limit.
 * body must hold XENSTORE_PAYLOAD_MAX + 1 bytes; it is NUL-terminated. */
static inline int recv_msg(int fd, struct xsd_sockmsg *h, char *body)
{
    if (kxen_read_full(fd, h, sizeof(*h)) || h->len > XENSTORE_PAYLOAD_MAX ||
        kxen_read_full(fd, body, h->len))
        return -1;
    body[h->len] = '\0';
    return 0;
}

/* Floods fd (made non-blocking) with thousands of READ requests whose replies the caller never
 * reads: the daemon's queue for that connection fills while others must still be served. */
static inline void send_unread_flood(int fd)
{
    static char buf[64 * 1024];
    size_t len = 0;
    for (int i = 0; len + 32 < sizeof(buf); i++) {
        struct xsd_sockmsg h = {XS_READ, (uint32_t)i, 0, 7};
        memcpy(buf + len, &h, sizeof(h));
        memcpy(buf + len + sizeof(h), "/local", 7);
        len += sizeof(h) + 7;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (int k = 0; k < 20; k++)
        if (write(fd, buf, len) < 0)
            break;
}

#endif
