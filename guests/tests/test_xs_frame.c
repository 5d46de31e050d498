/* xenstore framing: message building, ring copies with wrap-around, reply reassembly and
 * the checks against a broken or hostile xenstored. */
#include <criterion/criterion.h>
#include <string.h>

#include <kxen/errno.h>

#include "guest/xs_frame.h"

static struct xenstore_domain_interface ring;

/* Plays xenstored: puts bytes on the response ring. */
static void server_put(const void *data, size_t len)
{
    const char *d = data;
    for (size_t i = 0; i < len; i++)
        ring.rsp[MASK_XENSTORE_IDX(ring.rsp_prod + i)] = d[i];
    ring.rsp_prod += (uint32_t)len;
}

static void server_reply(uint32_t type, uint32_t req_id, const void *payload, uint32_t len)
{
    struct xsd_sockmsg h = {.type = type, .req_id = req_id, .tx_id = 0, .len = len};
    server_put(&h, sizeof(h));
    server_put(payload, len);
}

Test(guest_xs_frame, write_message_joins_parts_without_nul_after_the_value)
{
    char buf[64];
    const char *parts[] = {"data/hello", "world"};
    int n = xs_msg_build(buf, sizeof(buf), XS_WRITE, 7, 3, parts, 2, false);
    cr_assert_eq(n, (int)(sizeof(struct xsd_sockmsg) + 16));
    struct xsd_sockmsg h;
    memcpy(&h, buf, sizeof(h));
    cr_assert_eq(h.type, XS_WRITE);
    cr_assert_eq(h.req_id, 7);
    cr_assert_eq(h.tx_id, 3);
    cr_assert_eq(h.len, 16);
    cr_assert(memcmp(buf + sizeof(h), "data/hello\0world", 16) == 0);
}

Test(guest_xs_frame, read_and_watch_messages_terminate_every_part)
{
    char buf[64];
    const char *parts[] = {"control/shutdown", "tok"};
    int n = xs_msg_build(buf, sizeof(buf), XS_WATCH, 1, 0, parts, 2, true);
    cr_assert_eq(n, (int)(sizeof(struct xsd_sockmsg) + 21));
    cr_assert(memcmp(buf + sizeof(struct xsd_sockmsg), "control/shutdown\0tok\0", 21) == 0);
    const char *empty[] = {""};
    n = xs_msg_build(buf, sizeof(buf), XS_TRANSACTION_START, 2, 0, empty, 1, true);
    cr_assert_eq(n, (int)sizeof(struct xsd_sockmsg) + 1);
}

Test(guest_xs_frame, oversized_payload_and_small_buffer_are_refused)
{
    static char big[XENSTORE_PAYLOAD_MAX + 10];
    memset(big, 'a', sizeof(big) - 1);
    static char buf[XENSTORE_PAYLOAD_MAX + 64];
    const char *parts[] = {big};
    cr_assert_eq(xs_msg_build(buf, sizeof(buf), XS_READ, 1, 0, parts, 1, true), -XEN_E2BIG);
    const char *small[] = {"abc"};
    cr_assert_eq(xs_msg_build(buf, 10, XS_READ, 1, 0, small, 1, true), -XEN_ENOSPC);
}

Test(guest_xs_frame, request_ring_write_wraps_and_stops_when_full)
{
    memset(&ring, 0, sizeof(ring));
    ring.req_prod = ring.req_cons = XENSTORE_RING_SIZE - 4; /* next write wraps */
    char data[XENSTORE_RING_SIZE + 100];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)i;
    int n = xs_ring_write(&ring, data, sizeof(data));
    cr_assert_eq(n, XENSTORE_RING_SIZE);
    cr_assert_eq(ring.req_prod - ring.req_cons, XENSTORE_RING_SIZE);
    cr_assert_eq(ring.req[XENSTORE_RING_SIZE - 4], data[0]);
    cr_assert_eq(ring.req[0], data[4]);
    cr_assert_eq(xs_ring_write(&ring, data, 1), 0);
    cr_assert_eq(xs_ring_req_room(&ring), 0);
}

Test(guest_xs_frame, impossible_indices_from_the_server_are_an_error)
{
    memset(&ring, 0, sizeof(ring));
    ring.req_cons = 5000; /* consumer ahead of producer by more than the ring */
    cr_assert_eq(xs_ring_write(&ring, "x", 1), -XEN_EIO);
    memset(&ring, 0, sizeof(ring));
    ring.rsp_prod = XENSTORE_RING_SIZE + 1;
    char b[4];
    cr_assert_eq(xs_ring_read(&ring, b, sizeof(b)), -XEN_EIO);
    struct xs_rx rx = {0};
    cr_assert_eq(xs_rx_feed(&rx, &ring), -XEN_EIO);
}

Test(guest_xs_frame, reply_is_reassembled_across_partial_ring_contents)
{
    memset(&ring, 0, sizeof(ring));
    ring.rsp_prod = ring.rsp_cons = XENSTORE_RING_SIZE - 8; /* the header wraps */
    struct xsd_sockmsg h = {.type = XS_READ, .req_id = 9, .len = 5};
    struct xs_rx rx = {0};
    server_put(&h, 10);
    cr_assert_eq(xs_rx_feed(&rx, &ring), 0);
    server_put((char *)&h + 10, sizeof(h) - 10);
    server_put("wor", 3);
    cr_assert_eq(xs_rx_feed(&rx, &ring), 0);
    server_put("ld", 2);
    cr_assert_eq(xs_rx_feed(&rx, &ring), 1);
    cr_assert_eq(rx.hdr.req_id, 9);
    cr_assert_str_eq(rx.payload, "world");
    cr_assert_eq(ring.rsp_cons, ring.rsp_prod);
    xs_rx_reset(&rx);
    server_reply(XS_WATCH_EVENT, 0, "a/b\0tok\0", 8);
    cr_assert_eq(xs_rx_feed(&rx, &ring), 1);
    const char *path, *token;
    cr_assert_eq(xs_parse_watch_event(rx.payload, rx.hdr.len, &path, &token), 0);
    cr_assert_str_eq(path, "a/b");
    cr_assert_str_eq(token, "tok");
}

Test(guest_xs_frame, payload_length_over_the_protocol_limit_is_refused)
{
    memset(&ring, 0, sizeof(ring));
    struct xsd_sockmsg h = {.type = XS_READ, .req_id = 1, .len = XENSTORE_PAYLOAD_MAX + 1};
    server_put(&h, sizeof(h));
    struct xs_rx rx = {0};
    cr_assert_eq(xs_rx_feed(&rx, &ring), -XEN_EBADMSG);
}

Test(guest_xs_frame, error_names_map_to_errno_values)
{
    cr_assert_eq(xs_error_to_errno("ENOENT", 7), -XEN_ENOENT);
    cr_assert_eq(xs_error_to_errno("EACCES", 6), -XEN_EACCES);
    cr_assert_eq(xs_error_to_errno("EAGAIN", 7), -XEN_EAGAIN);
    cr_assert_eq(xs_error_to_errno("E2BIG", 6), -XEN_E2BIG);
    cr_assert_eq(xs_error_to_errno("EWHATEVER", 10), -XEN_EIO);
    cr_assert_eq(xs_error_to_errno("ENOENTX", 8), -XEN_EIO);
}

Test(guest_xs_frame, malformed_watch_events_are_rejected)
{
    const char *p, *t;
    cr_assert_eq(xs_parse_watch_event("path-only", 9, &p, &t), -XEN_EBADMSG);
    cr_assert_eq(xs_parse_watch_event("path\0tok", 8, &p, &t), -XEN_EBADMSG);
    cr_assert_eq(xs_parse_watch_event("\0tok\0", 5, &p, &t), -XEN_EBADMSG);
}
