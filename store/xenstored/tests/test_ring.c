/* The guest ring transport, with the "guest" played by the test on an in-process memfd page
 * and eventfds: exactly what a real ring backend hands to xenstored. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../ring_backend.h"
#include "harness.h"

static struct th t;
static struct xenstore_domain_interface *page;
static int to_daemon, to_guest; /* eventfds */
static int unmapped;

static int test_map(const struct xs_ring_backend *be, uint32_t domid, uint64_t gfn, uint32_t port,
                    struct xs_ring_mapping *m)
{
    (void)be;
    (void)domid;
    (void)port;
    if (gfn != 0x1234)
        return -EFAULT; /* the test's only "guest frame" */
    m->page = page;
    m->evfd = to_daemon;
    m->handle = NULL;
    return 0;
}

static int test_notify(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    (void)m;
    uint64_t one = 1;
    return write(to_guest, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static void test_unmap(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    (void)m;
    unmapped++;
}

static const struct xs_ring_backend test_backend = {
    .name = "test", .map = test_map, .notify = test_notify, .unmap = test_unmap};

static void setup(void)
{
    th_init(&t);
    int fd = memfd_create("xs-ring", 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 4096), 0);
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    to_daemon = eventfd(0, EFD_NONBLOCK);
    to_guest = eventfd(0, EFD_NONBLOCK);
    xenstored_set_ring_backend(&t.d, &test_backend);
}

static void teardown(void)
{
    th_fini(&t);
    munmap(page, 4096);
    close(to_daemon);
    close(to_guest);
}
TestSuite(ring, .init = setup, .fini = teardown);

static void guest_kick(void)
{
    uint64_t one = 1;
    cr_assert_eq(write(to_daemon, &one, sizeof(one)), sizeof(one));
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    event_base_loop(t.base, EVLOOP_NONBLOCK);
}

static void guest_put(const void *data, size_t len)
{
    const char *p = data;
    XENSTORE_RING_IDX prod = page->req_prod;
    for (size_t i = 0; i < len; i++)
        page->req[MASK_XENSTORE_IDX(prod + i)] = p[i];
    __atomic_store_n(&page->req_prod, prod + (XENSTORE_RING_IDX)len, __ATOMIC_RELEASE);
}

static void guest_request(uint32_t type, uint32_t req_id, const void *body, size_t len)
{
    struct xsd_sockmsg h = {type, req_id, 0, (uint32_t)len};
    guest_put(&h, sizeof(h));
    guest_put(body, len);
    guest_kick();
}

static bool guest_get(struct th_msg *m)
{
    XENSTORE_RING_IDX cons = page->rsp_cons, prod = page->rsp_prod;
    if (prod - cons < sizeof(m->h))
        return false;
    char *dst = (char *)&m->h;
    for (size_t i = 0; i < sizeof(m->h); i++)
        dst[i] = page->rsp[MASK_XENSTORE_IDX(cons + i)];
    if (prod - cons < sizeof(m->h) + m->h.len)
        return false;
    for (size_t i = 0; i < m->h.len; i++)
        m->body[i] = page->rsp[MASK_XENSTORE_IDX(cons + (uint32_t)sizeof(m->h) + i)];
    m->body[m->h.len] = '\0';
    page->rsp_cons = cons + (XENSTORE_RING_IDX)sizeof(m->h) + m->h.len;
    return true;
}

static struct xs_conn *introduce(void)
{
    struct xs_conn *d0 = th_conn(&t, 0);
    struct th_msg m;
    th_call(d0, XS_INTRODUCE, 0,
            "6\0"
            "4660\0"
            "9",
            9, &m); /* gfn 0x1234 */
    cr_assert_str_eq(m.body, "OK");
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    return d0;
}

Test(ring, guest_requests_on_the_ring_get_replies_and_a_notification)
{
    struct xs_conn *d0 = introduce();
    th_write(d0, 0, "/local/domain/6/name", "guest");
    struct th_msg m;
    th_call(d0, XS_SET_PERMS, 0, "/local/domain/6/name\0r6", 24, &m);
    guest_request(XS_READ, 77, "name", 5);
    cr_assert(guest_get(&m));
    cr_assert_eq(m.h.type, XS_READ);
    cr_assert_eq(m.h.req_id, 77);
    cr_assert_str_eq(m.body, "guest");
    uint64_t cnt = 0;
    cr_assert_eq(read(to_guest, &cnt, sizeof(cnt)), sizeof(cnt));
    cr_assert_geq(cnt, 1);
    cr_assert_eq(page->server_features & XENSTORE_SERVER_FEATURE_RECONNECTION,
                 XENSTORE_SERVER_FEATURE_RECONNECTION);
}

Test(ring, many_requests_wrap_the_ring_and_are_all_answered)
{
    introduce();
    char body[64];
    struct th_msg m;
    for (uint32_t i = 0; i < 200; i++) {
        int len = snprintf(body, sizeof(body), "%u", i % 100) + 1;
        guest_request(XS_GET_DOMAIN_PATH, i, body, (size_t)len);
        cr_assert(guest_get(&m), "no reply to %u", i);
        cr_assert_eq(m.h.req_id, i);
        char want[64];
        snprintf(want, sizeof(want), "/local/domain/%u", i % 100);
        cr_assert_str_eq(m.body, want);
    }
    cr_assert_gt(page->req_prod, XENSTORE_RING_SIZE * 2);
}

Test(ring, guest_watch_events_arrive_on_the_ring_with_relative_paths)
{
    struct xs_conn *d0 = introduce();
    th_simple(d0, XS_MKDIR, 0, "/local/domain/6");
    struct th_msg m;
    th_call(d0, XS_SET_PERMS, 0, "/local/domain/6\0n6", 19, &m);
    guest_request(XS_WATCH, 1, "device\0tok", 11);
    cr_assert(guest_get(&m));
    cr_assert_str_eq(m.body, "OK");
    cr_assert(guest_get(&m));
    cr_assert_eq(m.h.type, XS_WATCH_EVENT);
    cr_assert_str_eq(m.body, "device");
    th_write(d0, 0, "/local/domain/6/device/vif", "1");
    cr_assert(guest_get(&m));
    cr_assert_eq(m.h.type, XS_WATCH_EVENT);
    cr_assert_str_eq(m.body, "device/vif");
}

Test(ring, hostile_indices_close_the_connection_and_report_the_error)
{
    introduce();
    struct xs_domain *dom = xs_domain_get(&t.d, 6, false);
    cr_assert_not_null(dom->conn);
    page->req_prod = page->req_cons + XENSTORE_RING_SIZE + 1;
    guest_kick();
    cr_assert_eq(page->error, XENSTORE_ERROR_RINGIDX);
    cr_assert_eq(unmapped, 1);
    cr_assert_null(dom->conn);
    /* Other clients carry on. */
    cr_assert_eq(th_write(th_conn(&t, 0), 0, "/still", "fine"), 0);
}

Test(ring, guest_reconnect_resets_the_ring_and_drops_its_watches)
{
    struct xs_conn *d0 = introduce();
    guest_request(XS_WATCH, 1, "/local\0tok", 11);
    struct xs_domain *dom = xs_domain_get(&t.d, 6, false);
    cr_assert_eq(dom->conn->nwatches, 1);
    page->connection = XENSTORE_RECONNECT;
    guest_kick();
    cr_assert_eq(page->connection, XENSTORE_CONNECTED);
    cr_assert_eq(page->req_prod, 0);
    cr_assert_eq(page->rsp_prod, 0);
    cr_assert_eq(dom->conn->nwatches, 0);
    struct th_msg m;
    guest_request(XS_GET_DOMAIN_PATH, 5, "6", 2);
    cr_assert(guest_get(&m));
    cr_assert_str_eq(m.body, "/local/domain/6");
    (void)d0;
}

Test(ring, release_unmaps_the_ring)
{
    struct xs_conn *d0 = introduce();
    cr_assert_eq(th_simple(d0, XS_RELEASE, 0, "6"), 0);
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    cr_assert_eq(unmapped, 1);
}

Test(ring, introduce_fails_with_the_backend_error_eio_when_xenstore_has_no_name_for_it)
{
    struct xs_conn *d0 = th_conn(&t, 0);
    struct th_msg m;
    th_call(d0, XS_INTRODUCE, 0,
            "6\0"
            "1\0"
            "9",
            6, &m);
    cr_assert_str_eq(m.body, "EIO"); /* EFAULT is not in xenstore's error table */
    cr_assert_null(xs_domain_get(&t.d, 6, false));
}

Test(ring, a_message_longer_than_the_protocol_allows_reports_a_protocol_error)
{
    introduce();
    struct xsd_sockmsg h = {XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
    guest_put(&h, sizeof(h));
    guest_kick();
    cr_assert_eq(page->error, XENSTORE_ERROR_PROTO);
    cr_assert_null(xs_domain_get(&t.d, 6, false)->conn);
}

Test(ring, a_guest_that_stops_reading_is_throttled_then_served_in_order)
{
    introduce();
    /* 50 requests (850 bytes) at once, replies (31 bytes each) unread: the reply ring fills,
     * replies queue up to the outstanding quota, the rest of the requests wait. */
    for (uint32_t i = 0; i < 50; i++) {
        struct xsd_sockmsg h = {XS_GET_DOMAIN_PATH, i, 0, 2};
        guest_put(&h, sizeof(h));
        guest_put(i % 2 ? "1" : "2", 2);
    }
    guest_kick();
    struct xs_domain *dom = xs_domain_get(&t.d, 6, false);
    cr_assert_not_null(dom->conn, "throttling must not disconnect");
    /* Requests beyond the quota wait, unhandled, in the daemon's bounded input buffer. */
    cr_assert_gt(evbuffer_get_length(dom->conn->in), 0, "some requests should be waiting");
    struct th_msg m;
    uint32_t next = 0;
    for (int round = 0; round < 20 && next < 50; round++) {
        while (guest_get(&m)) {
            cr_assert_eq(m.h.req_id, next, "reply %u out of order", m.h.req_id);
            next++;
        }
        guest_kick();
    }
    cr_assert_eq(next, 50);
}

Test(ring, reintroducing_with_a_new_port_rebinds_and_keeps_the_watches)
{
    struct xs_conn *d0 = introduce();
    struct th_msg m;
    th_simple(d0, XS_MKDIR, 0, "/local/domain/6");
    th_call(d0, XS_SET_PERMS, 0, "/local/domain/6\0n6", 19, &m);
    guest_request(XS_WATCH, 1, "device\0tok", 11);
    while (guest_get(&m))
        ;
    struct xs_domain *dom = xs_domain_get(&t.d, 6, false);
    struct xs_conn *conn = dom->conn;
    th_call(d0, XS_INTRODUCE, 0,
            "6\0"
            "4660\0"
            "10",
            10, &m);
    cr_assert_str_eq(m.body, "OK");
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    cr_assert_eq(unmapped, 1, "the old mapping goes");
    cr_assert_eq(dom->port, 10);
    cr_assert_eq(dom->conn, conn, "same connection");
    cr_assert_eq(conn->nwatches, 1);
    th_write(d0, 0, "/local/domain/6/device/x", "1");
    cr_assert(guest_get(&m));
    cr_assert_eq(m.h.type, XS_WATCH_EVENT);
    cr_assert_str_eq(m.body, "device/x");
    guest_request(XS_GET_DOMAIN_PATH, 2, "6", 2);
    cr_assert(guest_get(&m));
    cr_assert_str_eq(m.body, "/local/domain/6");
}
