/* Event storms from a hostile frontend: tens of thousands of notifications, with nothing new on
 * the ring or between real requests, cost the backend one look at its ring each and change
 * nothing else: no response or event is invented, every real request is answered once, the
 * device stays connected and serves as before. */
#include <criterion/criterion.h>
#include <string.h>

#include "blk_env.h"
#include "net_env.h"

#define STORM 20000
#define REQUEST_EVERY 2000 /* a real request this often during the storm */

static struct blk_env blk;
static struct net_env net;

Test(event_storm, a_storm_on_a_vbd_answers_only_real_requests_and_the_disk_still_serves)
{
    env_setup(&blk, NULL, "w", 0, 1, false);
    cr_assert(fb_connect(&blk.fb));
    struct fb_queue *q = &blk.fb.q[0];
    static char buf[4096];
    unsigned int answered = 0;
    for (unsigned int i = 1; i <= STORM; i++) {
        RING_IDX rsp = q->front.sring->rsp_prod;
        fake_evtchn_notify_from_frontend(blk.fp, q->port);
        blkback_poll(blk.bb);
        cr_assert_eq(q->front.sring->rsp_prod, rsp, "event %u: a response nobody asked for", i);
        if (i % REQUEST_EVERY == 0) {
            cr_assert_eq(fb_rw(&blk.fb, 0, BLKIF_OP_READ, i / REQUEST_EVERY, 1, buf),
                         BLKIF_RSP_OKAY);
            answered++;
        }
    }
    cr_assert_eq(q->front.sring->rsp_prod, answered, "one response per real request");
    cr_assert_eq(fb_backend_state(&blk.fb), XenbusStateConnected);
    cr_assert_eq(fb_rw(&blk.fb, 0, BLKIF_OP_WRITE, 0, 1, buf), BLKIF_RSP_OKAY);
    env_teardown(&blk);
}

Test(event_storm, a_storm_on_a_vif_sends_nothing_and_the_vif_still_carries_frames)
{
    net_env_setup(&net, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&net.nf[i]));
    struct fake_netfront *nf = &net.nf[0];
    RING_IDX tx = nf->tx.sring->rsp_prod, rx = nf->rx.sring->rsp_prod;
    unsigned int peer_events = fake_evtchn_notified(net.fp, net.nf[1].rx_port);
    for (unsigned int i = 0; i < STORM; i++) {
        fake_evtchn_notify_from_frontend(net.fp, nf->tx_port);
        netback_poll(net.nb);
    }
    cr_assert_eq(nf->tx.sring->rsp_prod, tx, "no TX response invented");
    cr_assert_eq(nf->rx.sring->rsp_prod, rx, "no RX response invented");
    cr_assert_not(nf_rx_pending(&net.nf[1]), "nothing forwarded to the peer");
    cr_assert_eq(fake_evtchn_notified(net.fp, net.nf[1].rx_port), peer_events);
    cr_assert_eq(nf_backend_state(nf), XenbusStateConnected);
    static uint8_t out[1500], in[1500];
    uint8_t src[6];
    net_mac(src, 1);
    net_frame(out, 300, net_bcast, src, 7);
    cr_assert_eq(nf_send(nf, out, 300, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&net.nf[1], in, sizeof(in), NULL), 300);
    cr_assert_eq(memcmp(in, out, 300), 0);
    net_env_teardown(&net);
}
