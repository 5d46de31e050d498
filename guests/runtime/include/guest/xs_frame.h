/* xenstore ring framing (xs_frame.c, pure: also built for the host unit tests): byte copies in
 * and out of struct xenstore_domain_interface with index checks, message building, reply
 * reassembly and error-name decoding. */
#ifndef GUEST_XS_FRAME_H
#define GUEST_XS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kxen/io/xs_wire.h>

/* Copies up to len bytes into the request ring. Returns the bytes written (0 when full) or
 * -EIO when the indices are impossible (prod - cons > ring size). */
int xs_ring_write(struct xenstore_domain_interface *intf, const void *data, size_t len);
/* Copies up to len bytes out of the response ring; same returns. */
int xs_ring_read(struct xenstore_domain_interface *intf, void *data, size_t len);
/* Bytes waiting in the response ring (0 also for broken indices: the read reports those). */
uint32_t xs_ring_rsp_avail(const struct xenstore_domain_interface *intf);
/* Free bytes in the request ring. */
uint32_t xs_ring_req_room(const struct xenstore_domain_interface *intf);

/* Builds header + payload: the parts joined, each followed by a NUL except the last when
 * last_nul is false (XS_WRITE's value has none). Returns the message length, -E2BIG when the
 * payload exceeds XENSTORE_PAYLOAD_MAX, -ENOSPC when buf is too small. */
int xs_msg_build(void *buf, size_t cap, uint32_t type, uint32_t req_id, uint32_t tx_id,
                 const char *const *parts, unsigned nparts, bool last_nul);

/* Reassembles one reply or watch event from the response ring. */
struct xs_rx {
    struct xsd_sockmsg hdr;
    char payload[XENSTORE_PAYLOAD_MAX + 1]; /* always NUL-terminated after completion */
    size_t have;                            /* bytes of header + payload received */
};
/* Pulls bytes for the current message: 1 when it is complete, 0 when more are needed,
 * -EIO for broken ring indices, -EBADMSG for a length over XENSTORE_PAYLOAD_MAX. */
int xs_rx_feed(struct xs_rx *rx, struct xenstore_domain_interface *intf);
/* Forgets the completed message. */
void xs_rx_reset(struct xs_rx *rx);

/* XS_ERROR payload ("ENOENT") -> negative errno; an unknown name gives -EIO. */
int xs_error_to_errno(const char *payload, size_t len);
/* XS_WATCH_EVENT payload "path\0token\0" -> pointers into it; -EBADMSG when malformed. */
int xs_parse_watch_event(const char *payload, size_t len, const char **path, const char **token);

#endif
