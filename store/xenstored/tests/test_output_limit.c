/* The bound on output queued for a peer that stopped reading: replies pile up in the daemon
 * until 16 MiB, then the connection is closed (a client that never reads cannot make xenstored
 * grow without limit). The socket tests only queue about a megabyte; this one crosses the line. */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <string.h>

#include "harness.h"

#define OUT_LIMIT (16u << 20)

static struct th t;
static void setup(void)
{
    th_init(&t);
}
static void teardown(void)
{
    th_fini(&t);
}
TestSuite(output_limit, .init = setup, .fini = teardown);

Test(output_limit, a_peer_that_never_reads_is_disconnected_past_16_mib_of_queued_replies)
{
    /* dom0: no outstanding-request quota, so only the output bound can stop it. */
    struct xs_conn *c = th_conn(&t, 0);
    static char big[4000];
    memset(big, 'v', sizeof(big) - 1);
    cr_assert_eq(th_write(c, 0, "/big", big), 0);
    th_hold(c, true);
    size_t reply = sizeof(struct xsd_sockmsg) + strlen(big);
    size_t queued = 0;
    uint32_t sent = 0;
    while (!c->closing && sent < 2 * (OUT_LIMIT / reply)) {
        queued = evbuffer_get_length(c->out);
        th_send(c, XS_READ, sent++, 0, "/big", 5);
    }
    cr_assert(c->closing, "still open with %zu bytes queued after %u unread replies",
              evbuffer_get_length(c->out), sent);
    /* Closed by the reply that took the queue past the limit, not earlier. */
    cr_assert_leq(queued, OUT_LIMIT, "had %zu bytes queued before the closing reply", queued);
    cr_assert_gt(queued + reply, OUT_LIMIT, "closed at %zu bytes, below the limit", queued);
}

Test(output_limit, a_peer_that_reads_again_below_the_limit_keeps_its_connection)
{
    struct xs_conn *c = th_conn(&t, 0);
    static char big[4000];
    memset(big, 'v', sizeof(big) - 1);
    cr_assert_eq(th_write(c, 0, "/big", big), 0);
    th_hold(c, true);
    size_t reply = sizeof(struct xsd_sockmsg) + strlen(big);
    uint32_t n = (uint32_t)((OUT_LIMIT - reply) / reply); /* just under 16 MiB */
    for (uint32_t i = 0; i < n; i++)
        th_send(c, XS_READ, i, 0, "/big", 5);
    cr_assert_not(c->closing);
    th_hold(c, false);
    struct th_msg m;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert(th_pop(c, &m), "reply %u missing", i);
        cr_assert_eq(m.h.req_id, i);
    }
    cr_assert_not(c->closing);
}
