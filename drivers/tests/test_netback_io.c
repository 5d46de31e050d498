/* Frames through netback and its switch between fake Linux netfronts, every byte checked:
 * single and multi-slot TX, multi-slot RX with feature-sg, broadcast flooding without
 * returning a frame to its sender, learnt unicast to one port only, checksum metadata. */
#include <criterion/criterion.h>
#include <string.h>

#include "net_env.h"

static struct net_env env;
static uint8_t out[65536], in[65536];

static void three_connected(void)
{
    net_env_setup(&env, NULL, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(nf_connect(&env.nf[i]), "vif %d: %s", i, env.log);
}

static void expect(struct fake_netfront *nf, const uint8_t *frame, size_t len)
{
    memset(in, 0, sizeof(in));
    int n = nf_recv(nf, in, sizeof(in), NULL);
    cr_assert_eq(n, (int)len, "received %d bytes, sent %zu", n, len);
    cr_assert_eq(memcmp(in, frame, len), 0, "payload differs");
}

Test(netback_io, broadcast_reaches_every_other_vif_and_never_its_sender)
{
    three_connected();
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 60, net_bcast, a, 1);
    cr_assert_eq(nf_send(&env.nf[0], out, 60, 1, 0, 0), NETIF_RSP_OKAY);
    expect(&env.nf[1], out, 60);
    expect(&env.nf[2], out, 60);
    cr_assert_not(nf_rx_pending(&env.nf[0]), "the frame came back to its sender");
    net_env_teardown(&env);
}

Test(netback_io, a_learnt_unicast_goes_to_one_vif_both_ways_at_every_size)
{
    three_connected();
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    /* b speaks first so the switch learns it, then a and b exchange every size. */
    net_frame(out, 60, net_bcast, b, 2);
    cr_assert_eq(nf_send(&env.nf[1], out, 60, 1, 0, 0), NETIF_RSP_OKAY);
    expect(&env.nf[0], out, 60);
    expect(&env.nf[2], out, 60);
    for (size_t len = 14; len <= 1514; len += 97) {
        net_frame(out, len, b, a, (unsigned int)len);
        cr_assert_eq(nf_send(&env.nf[0], out, (uint16_t)len, 1, 0, 0), NETIF_RSP_OKAY);
        expect(&env.nf[1], out, len);
        net_frame(out, len, a, b, (unsigned int)len + 1);
        cr_assert_eq(nf_send(&env.nf[1], out, (uint16_t)len, 1, 0, 0), NETIF_RSP_OKAY);
        expect(&env.nf[0], out, len);
    }
    cr_assert_not(nf_rx_pending(&env.nf[2]), "a unicast leaked to a third vif");
    struct netback_stats st;
    netback_get_stats(env.nb, &st);
    cr_assert_eq(st.tx_errors, 0);
    net_env_teardown(&env);
}

Test(netback_io, multi_slot_tx_and_multi_slot_rx_carry_every_byte)
{
    net_env_setup(&env, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]));
    uint8_t a[6];
    net_mac(a, 1);
    /* 3 slots starting mid-page; then 9000 bytes in 3 slots of 3000: 3 RX buffers. */
    net_frame(out, 1514, net_bcast, a, 3);
    cr_assert_eq(nf_send(&env.nf[0], out, 1514, 3, 3000, 0), NETIF_RSP_OKAY);
    expect(&env.nf[1], out, 1514);
    net_frame(out, 9000, net_bcast, a, 4);
    cr_assert_eq(nf_send(&env.nf[0], out, 9000, 3, 0, 0), NETIF_RSP_OKAY);
    expect(&env.nf[1], out, 9000);
    /* The largest packet: 65535 bytes in 17 slots. */
    net_frame(out, 65535, net_bcast, a, 5);
    cr_assert_eq(nf_send(&env.nf[0], out, 65535, 17, 0, 0), NETIF_RSP_OKAY);
    expect(&env.nf[1], out, 65535);
    net_env_teardown(&env);
}

Test(netback_io, without_feature_sg_a_frame_larger_than_a_page_is_dropped)
{
    net_env_setup(&env, NULL, 2);
    cr_assert(nf_connect(&env.nf[0]));
    env.nf[1].sg = false;
    cr_assert(nf_connect(&env.nf[1]));
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 5000, net_bcast, a, 6);
    cr_assert_eq(nf_send(&env.nf[0], out, 5000, 2, 0, 0), NETIF_RSP_OKAY);
    cr_assert_not(nf_rx_pending(&env.nf[1]));
    net_frame(out, 1500, net_bcast, a, 7);
    cr_assert_eq(nf_send(&env.nf[0], out, 1500, 1, 0, 0), NETIF_RSP_OKAY);
    expect(&env.nf[1], out, 1500);
    struct netback_stats st;
    netback_get_stats(env.nb, &st);
    cr_assert_eq(st.rx_dropped, 1);
    net_env_teardown(&env);
}

Test(netback_io, a_blank_checksum_reaches_the_peer_as_csum_blank)
{
    net_env_setup(&env, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]));
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 100, net_bcast, a, 8);
    cr_assert_eq(nf_send(&env.nf[0], out, 100, 1, 0, NETTXF_csum_blank | NETTXF_data_validated),
                 NETIF_RSP_OKAY);
    uint16_t flags = 0;
    cr_assert_eq(nf_recv(&env.nf[1], in, sizeof(in), &flags), 100);
    cr_assert(flags & NETRXF_csum_blank);
    cr_assert(flags & NETRXF_data_validated);
    net_env_teardown(&env);
}

Test(netback_io, frames_wait_for_rx_buffers_and_flow_when_they_are_posted)
{
    net_env_setup(&env, NULL, 2);
    cr_assert(nf_connect(&env.nf[0]));
    /* vif 1 connects without posting buffers. */
    struct fake_netfront *nf = &env.nf[1];
    while (nf_backend_state(nf) != XenbusStateInitWait)
        netback_poll(env.nb);
    nf_talk(nf, 0, false);
    for (int i = 0; i < 100 && nf_backend_state(nf) != XenbusStateConnected; i++)
        netback_poll(env.nb);
    uint8_t a[6];
    net_mac(a, 1);
    net_frame(out, 200, net_bcast, a, 9);
    cr_assert_eq(nf_send(&env.nf[0], out, 200, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_not(nf_rx_pending(nf));
    nf_post_rx(nf);
    expect(nf, out, 200);
    net_env_teardown(&env);
}

Test(netback_io, packets_pushed_together_share_one_copy_call_each_way_and_keep_their_order)
{
    net_env_setup(&env, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]));
    struct fake_netfront *nf = &env.nf[0];
    uint8_t a[6];
    net_mac(a, 1);
    enum { N = 8, BAD = 3 };
    struct netif_tx_request r[N];
    for (unsigned int i = 0; i < N; i++) {
        uint16_t len = (uint16_t)(100 + i * 50);
        net_frame(fake_page(nf->fp, nf->tx_page[i]), len, net_bcast, a, 20 + i);
        /* Buggy or malicious frontend: one packet names a grant that does not exist. */
        r[i] = (struct netif_tx_request){
            .gref = i == BAD ? 0xffffffu : nf->tx_gref[i], .id = (uint16_t)(200 + i), .size = len};
    }
    unsigned int calls = fake_gnttab_nr_copy_calls(env.fp);
    nf_push_raw(nf, r, N);
    struct netif_tx_response rsp[N];
    cr_assert(nf_wait_tx_responses(nf, N, rsp));
    for (unsigned int i = 0; i < N; i++) {
        cr_assert_eq(rsp[i].id, 200 + i, "response %u answers request %u", i, rsp[i].id);
        cr_assert_eq(rsp[i].status, i == BAD ? NETIF_RSP_ERROR : NETIF_RSP_OKAY);
    }
    cr_assert_eq(fake_gnttab_nr_copy_calls(env.fp) - calls, 2,
                 "%u grant-copy calls for %u packets (one TX batch, one RX batch)",
                 fake_gnttab_nr_copy_calls(env.fp) - calls, N);
    for (unsigned int i = 0; i < N; i++) {
        if (i == BAD)
            continue;
        net_frame(out, 100 + i * 50, net_bcast, a, 20 + i);
        expect(&env.nf[1], out, 100 + i * 50);
    }
    cr_assert_not(nf_rx_pending(&env.nf[1]));
    net_env_teardown(&env);
}
