/* Replays the TX-validation fuzz corpus (drivers/tests/corpus_nettx) through the fuzz target,
 * built with gcc and the sanitizers, plus the verdicts of hand-made chains. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "corpus_replay.h"
#include "../net/netback.h"

int nettx_fuzz_one(const unsigned char *data, size_t size);

Test(nettx_fuzz, every_corpus_input_keeps_the_validation_promises)
{
    corpus_replay(NETTX_CORPUS_DIR, 1 << 12, nettx_fuzz_one);
}

static const struct netback_tx_limits lim = {.gso = false};

Test(nettx_fuzz, a_three_slot_packet_is_accepted_with_its_fragments)
{
    struct netif_tx_request r[3] = {
        {.gref = 8, .offset = 100, .flags = NETTXF_more_data, .id = 1, .size = 3000},
        {.gref = 9, .offset = 0, .flags = NETTXF_more_data, .id = 2, .size = 1000},
        {.gref = 10, .offset = 0, .flags = 0, .id = 3, .size = 500}};
    struct netback_tx_pkt p;
    cr_assert_eq(netback_parse_tx(r, 1, &lim, &p), NETBACK_TX_MORE);
    cr_assert_eq(netback_parse_tx(r, 2, &lim, &p), NETBACK_TX_MORE);
    cr_assert_eq(netback_parse_tx(r, 3, &lim, &p), NETBACK_TX_OK);
    cr_assert_eq(p.nr_frags, 3);
    cr_assert_eq(p.frag[0].len, 1500);
    cr_assert_eq(p.len, 3000);
    cr_assert_eq(p.entry_id[2], 3);
}

Test(nettx_fuzz, nineteen_slots_are_fatal_and_fragments_past_the_size_are_dropped)
{
    struct netif_tx_request r[NETBACK_MAX_TX_ENTRIES];
    for (unsigned int i = 0; i < NETBACK_MAX_TX_ENTRIES; i++)
        r[i] = (struct netif_tx_request){
            .gref = 8, .flags = NETTXF_more_data, .id = (uint16_t)i, .size = 10};
    r[0].size = 65535;
    struct netback_tx_pkt p;
    cr_assert_eq(netback_parse_tx(r, 17, &lim, &p), NETBACK_TX_MORE);
    /* The 18th slot still says more_data: a 19th is coming, which is fatal already. */
    cr_assert_eq(netback_parse_tx(r, 18, &lim, &p), NETBACK_TX_FATAL);
    /* 17 fragments of 4096 after the first: more than 65535 bytes in all. */
    for (unsigned int i = 1; i < 18; i++)
        r[i].size = 4096;
    r[17].flags = 0;
    cr_assert_eq(netback_parse_tx(r, 18, &lim, &p), NETBACK_TX_DROP);
    cr_assert_eq(p.nr_entries, 18);
}

Test(nettx_fuzz, a_short_frame_is_dropped_and_a_page_crossing_is_fatal)
{
    struct netif_tx_request r = {.gref = 8, .offset = 0, .id = 1, .size = 13};
    struct netback_tx_pkt p;
    cr_assert_eq(netback_parse_tx(&r, 1, &lim, &p), NETBACK_TX_DROP);
    r = (struct netif_tx_request){.gref = 8, .offset = 4000, .id = 1, .size = 200};
    cr_assert_eq(netback_parse_tx(&r, 1, &lim, &p), NETBACK_TX_FATAL);
}

Test(nettx_fuzz, extras_are_entries_and_unknown_or_unoffered_ones_are_refused)
{
    struct netif_tx_request r[2] = {{.gref = 8, .flags = NETTXF_extra_info, .id = 1, .size = 60}};
    struct netif_extra_info ex = {.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD};
    memcpy(&r[1], &ex, sizeof(ex));
    struct netback_tx_pkt p;
    cr_assert_eq(netback_parse_tx(r, 1, &lim, &p), NETBACK_TX_MORE);
    cr_assert_eq(netback_parse_tx(r, 2, &lim, &p), NETBACK_TX_OK);
    cr_assert(p.entry_is_extra[1]);
    ex = (struct netif_extra_info){.type = XEN_NETIF_EXTRA_TYPE_GSO};
    ex.u.gso.size = 1448;
    ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    memcpy(&r[1], &ex, sizeof(ex));
    cr_assert_eq(netback_parse_tx(r, 2, &lim, &p), NETBACK_TX_DROP, "GSO was not offered");
    ex = (struct netif_extra_info){.type = 9};
    memcpy(&r[1], &ex, sizeof(ex));
    cr_assert_eq(netback_parse_tx(r, 2, &lim, &p), NETBACK_TX_FATAL);
}

Test(nettx_fuzz, offered_gso_is_accepted_with_a_known_type_and_a_real_mss)
{
    const struct netback_tx_limits gso = {.gso = true};
    struct netif_tx_request r[3] = {
        {.gref = 8, .flags = NETTXF_extra_info | NETTXF_more_data, .id = 1, .size = 6000},
        {0},
        {.gref = 9, .id = 2, .size = 2000}};
    struct netif_extra_info ex = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
    ex.u.gso.size = 1448;
    ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
    memcpy(&r[1], &ex, sizeof(ex));
    struct netback_tx_pkt p;
    cr_assert_eq(netback_parse_tx(r, 2, &gso, &p), NETBACK_TX_MORE);
    cr_assert_eq(netback_parse_tx(r, 3, &gso, &p), NETBACK_TX_OK);
    cr_assert(p.has_gso && p.gso.u.gso.size == 1448 &&
              p.gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6);
    cr_assert_eq(p.nr_frags, 2);
    cr_assert_eq(p.len, 6000);
    ex.u.gso.size = NETBACK_GSO_MIN_MSS - 1;
    memcpy(&r[1], &ex, sizeof(ex));
    cr_assert_eq(netback_parse_tx(r, 3, &gso, &p), NETBACK_TX_DROP, "an MSS below 48");
    ex.u.gso.size = 1448;
    ex.u.gso.type = XEN_NETIF_GSO_TYPE_NONE;
    memcpy(&r[1], &ex, sizeof(ex));
    cr_assert_eq(netback_parse_tx(r, 3, &gso, &p), NETBACK_TX_DROP, "no GSO type");
}
