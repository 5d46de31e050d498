/* A restarted netback (xl devd's worker after a crash) adopts the vifs its predecessor had
 * connected: it maps their rings again, resumes after the last response (a TX packet queued
 * while no backend ran is answered and forwarded), and frames flow both ways again. */
#include <criterion/criterion.h>
#include <string.h>

#include "net_env.h"

static struct net_env env;
static uint8_t out[2048], in[2048];

static bool both_connected_and_mapped(struct fake_netfront *nf)
{
    return nf_backend_state(nf) == XenbusStateConnected &&
           nf_backend_state(&env.nf[1]) == XenbusStateConnected &&
           fake_gnttab_nr_mapped(nf->fp) == 4;
}

Test(netback_adopt, a_restarted_netback_serves_the_connected_vifs_again)
{
    net_env_setup(&env, NULL, 2);
    for (int i = 0; i < 2; i++)
        cr_assert(nf_connect(&env.nf[i]));
    uint8_t a[6], b[6];
    net_mac(a, 1);
    net_mac(b, 2);
    net_frame(out, 500, net_bcast, a, 1);
    cr_assert_eq(nf_send(&env.nf[0], out, 500, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&env.nf[1], in, sizeof(in), NULL), 500);
    /* The old instance dies; xenstore keeps state 4 and the rings keep their indices. */
    netback_free(env.nb);
    cr_assert_eq(fake_gnttab_nr_mapped(env.fp), 0);
    struct netif_tx_request r = {.gref = env.nf[0].tx_gref[0], .id = 55, .size = 300};
    net_frame(out, 300, net_bcast, a, 2);
    memcpy(fake_page(env.fp, env.nf[0].tx_page[0]), out, 300);
    nf_push_raw(&env.nf[0], &r, 1); /* its notification goes nowhere */
    env.nb = netback_new(fake_platform_base(env.fp), NULL, NULL, NULL);
    cr_assert_not_null(env.nb);
    env.nf[0].nb = env.nf[1].nb = env.nb;
    cr_assert_eq(netback_start(env.nb), 0);
    cr_assert(nf_pump(&env.nf[0], both_connected_and_mapped), "the vifs were not adopted");
    struct netif_tx_response rsp;
    cr_assert(nf_wait_tx_responses(&env.nf[0], 1, &rsp), "the queued packet was lost");
    cr_assert_eq(rsp.id, 55);
    cr_assert_eq(rsp.status, NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&env.nf[1], in, sizeof(in), NULL), 300);
    cr_assert_eq(memcmp(in, out, 300), 0);
    net_frame(out, 700, a, b, 3);
    cr_assert_eq(nf_send(&env.nf[1], out, 700, 1, 0, 0), NETIF_RSP_OKAY);
    cr_assert_eq(nf_recv(&env.nf[0], in, sizeof(in), NULL), 700);
    cr_assert_eq(memcmp(in, out, 700), 0);
    net_env_teardown(&env);
}
