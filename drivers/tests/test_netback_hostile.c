/* netback against a hostile netfront: malformed packets get error responses and the vif stays
 * up; a broken ring or an over-long chain closes only that vif, with `error` written; other
 * vifs keep working; nothing crashes and nothing leaks. */
#include <criterion/criterion.h>
#include <string.h>

#include "net_env.h"

static struct net_env env;
static uint8_t out[65536], in[65536];

static bool be_closed(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateClosed;
}

static void two_connected(void)
{
    net_env_setup(&env, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]));
}

/* vif 0 can still send a checked frame to vif 1. */
static void still_works(void)
{
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 300, net_bcast, a, 42);
    cr_assert_eq(nf_send(&env.nf[0], out, 300, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&env.nf[1], in, sizeof(in), NULL), 300);
    cr_assert_eq(memcmp(in, out, 300), 0);
}

static int16_t send_one(struct netif_tx_request r)
{
    struct netif_tx_response rsp;
    nf_push_raw(&env.nf[0], &r, 1);
    cr_assert(nf_wait_tx_responses(&env.nf[0], 1, &rsp));
    cr_assert_eq(rsp.id, r.id);
    return rsp.status;
}

Test(netback_hostile, an_ungranted_tx_gref_is_an_error_response)
{
    two_connected();
    cr_assert_eq(send_one((struct netif_tx_request){.gref = 4000, .id = 9, .size = 60}),
                 NETIF_RSP_ERROR);
    cr_assert_eq(send_one((struct netif_tx_request){.gref = 3, .id = 10, .size = 60}),
                 NETIF_RSP_ERROR);
    cr_assert_not(nf_rx_pending(&env.nf[1]), "a failed copy was forwarded");
    still_works();
    net_env_teardown(&env);
}

Test(netback_hostile, a_frame_shorter_than_an_ethernet_header_is_an_error_response)
{
    two_connected();
    cr_assert_eq(
        send_one((struct netif_tx_request){.gref = env.nf[0].tx_gref[0], .id = 3, .size = 13}),
        NETIF_RSP_ERROR);
    still_works();
    net_env_teardown(&env);
}

Test(netback_hostile, fragments_adding_up_past_65535_bytes_are_error_responses)
{
    two_connected();
    struct netif_tx_request r[18];
    for (unsigned int i = 0; i < 18; i++)
        r[i] = (struct netif_tx_request){.gref = env.nf[0].tx_gref[i],
                                         .flags = i < 17 ? NETTXF_more_data : 0,
                                         .id = (uint16_t)i,
                                         .size = 4096};
    r[0].size = 65535;
    nf_push_raw(&env.nf[0], r, 18);
    struct netif_tx_response rsp[18];
    cr_assert(nf_wait_tx_responses(&env.nf[0], 18, rsp));
    for (unsigned int i = 0; i < 18; i++) {
        cr_assert_eq(rsp[i].id, i);
        cr_assert_eq(rsp[i].status, NETIF_RSP_ERROR);
    }
    still_works();
    net_env_teardown(&env);
}

Test(netback_hostile, a_chain_of_nineteen_slots_closes_only_that_vif)
{
    two_connected();
    struct netif_tx_request r[19];
    for (unsigned int i = 0; i < 19; i++)
        r[i] = (struct netif_tx_request){.gref = env.nf[0].tx_gref[i % NF_TX_PAGES],
                                         .flags = i < 18 ? NETTXF_more_data : 0,
                                         .id = (uint16_t)i,
                                         .size = 10};
    r[0].size = 190;
    nf_push_raw(&env.nf[0], r, 19);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    cr_assert_neq(strstr(nf_be_key(&env.nf[0], "error"), "TX packet"), NULL);
    cr_assert_eq(nf_backend_state(&env.nf[1]), XenbusStateConnected);
    net_env_teardown(&env);
}

Test(netback_hostile, a_slot_crossing_its_page_closes_the_vif)
{
    two_connected();
    nf_push_raw(
        &env.nf[0],
        &(struct netif_tx_request){.gref = env.nf[0].tx_gref[0], .offset = 4000, .size = 200}, 1);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    net_env_teardown(&env);
}

Test(netback_hostile, a_tx_producer_overrun_closes_only_that_vif)
{
    two_connected();
    env.nf[0].tx.sring->req_prod += 1000; /* claims 1000 requests in a 256-slot ring */
    fake_evtchn_notify_from_frontend(env.fp, env.nf[0].tx_port);
    cr_assert(nf_pump(&env.nf[0], be_closed));
    cr_assert_neq(strstr(nf_be_key(&env.nf[0], "error"), "TX ring"), NULL);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 2, "only vif 1's rings stay mapped");
    /* vif 1 still receives from nobody but still sends: its own frame is accepted. */
    uint8_t b[6];
    net_mac(b, 2);
    net_frame(out, 80, net_bcast, b, 1);
    cr_assert_eq(nf_send(&env.nf[1], out, 80, 1, 0, 0), NETIF_RSP_OKAY);
    net_env_teardown(&env);
}

Test(netback_hostile, an_rx_producer_overrun_closes_only_that_vif)
{
    two_connected();
    env.nf[1].rx.sring->req_prod += 5000;
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 80, net_bcast, a, 1);
    /* The sender is answered whatever happens to the receiver. */
    cr_assert_eq(nf_send(&env.nf[0], out, 80, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert(nf_pump(&env.nf[1], be_closed));
    cr_assert_eq(nf_backend_state(&env.nf[0]), XenbusStateConnected);
    net_env_teardown(&env);
}

Test(netback_hostile, a_bad_rx_gref_is_an_error_response_and_the_vif_stays_up)
{
    two_connected();
    struct fake_netfront *nf = &env.nf[1];
    /* Replace every posted buffer's grant: the next RX copy fails. */
    fake_revoke(env.fp, nf->rx_gref[0]);
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 80, net_bcast, a, 1);
    cr_assert_eq(nf_send(&env.nf[0], out, 80, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(nf, in, sizeof(in), NULL), NETIF_RSP_ERROR);
    nf->rx_gref[0] = fake_grant(env.fp, nf->rx_page[0], false);
    still_works();
    net_env_teardown(&env);
}

Test(netback_hostile, a_frontend_vanishing_mid_traffic_leaves_the_other_vif_working)
{
    two_connected();
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 80, net_bcast, a, 1);
    fake_xs_rm(env.fp, env.nf[1].fe);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(nf_send(&env.nf[0], out, 80, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert(nf_pump(&env.nf[1], be_closed));
    nf_toolstack_remove(env.fp, 8, 0);
    netback_poll(env.nb);
    cr_assert_eq(xenbus_backend_nr_devices(netback_xenbus(env.nb)), 1);
    cr_assert_eq(nf_send(&env.nf[0], out, 80, 1, 0, 0), NETIF_RSP_OKAY);
    net_env_teardown(&env);
}
