/* Fuzz target for netback's TX packet validation (netback_req.c).
 *
 * Input: consecutive raw ring entries (12 bytes each). The harness feeds them to the parser
 * one more at a time, as the data plane does while a chain is being published, and checks
 * what each verdict promises the data plane, aborting (a crash for the fuzzer, a failure for
 * the replay test) when one promise breaks:
 *   - MORE only while the chain can still grow: never at the entry limit;
 *   - a verdict that ends a chain spans 1..the entries given, and says which are extras;
 *   - an accepted packet has 1..18 fragments, each inside its page, that add up to its
 *     length, which is at least an Ethernet header and at most 65535 bytes; its GSO extra,
 *     if any, has a known type and an MSS of at least NETBACK_GSO_MIN_MSS.
 * Built with clang -fsanitize=fuzzer (make nettx-fuzz) and with gcc into test_drivers, which
 * replays drivers/tests/corpus_nettx. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../net/netback.h"

/* test_drivers links the blkreq target too: there this one goes by its own name. */
#ifdef NETTX_REPLAY
#define LLVMFuzzerTestOneInput nettx_fuzz_one
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_ok(const struct netback_tx_pkt *pkt)
{
    CHECK(pkt->nr_frags >= 1 && pkt->nr_frags <= NETBACK_MAX_TX_SLOTS);
    uint32_t sum = 0;
    for (unsigned int i = 0; i < pkt->nr_frags; i++) {
        CHECK((uint32_t)pkt->frag[i].offset + pkt->frag[i].len <= NETBACK_PAGE);
        sum += pkt->frag[i].len;
    }
    CHECK(sum == pkt->len);
    CHECK(pkt->len >= NETBACK_ETH_HLEN && pkt->len <= XEN_NETIF_MAX_TX_SIZE);
    /* GSO is offered: an accepted GSO extra has a known type and an MSS of at least 48. */
    CHECK(!pkt->has_gso || (pkt->gso.u.gso.size >= NETBACK_GSO_MIN_MSS &&
                            (pkt->gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ||
                             pkt->gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6)));
    unsigned int data = 0;
    for (unsigned int i = 0; i < pkt->nr_entries; i++)
        data += !pkt->entry_is_extra[i];
    CHECK(data == pkt->nr_frags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct netif_tx_request ents[NETBACK_MAX_TX_ENTRIES];
    unsigned int n = (unsigned int)(size / sizeof(ents[0]));
    if (n > NETBACK_MAX_TX_ENTRIES)
        n = NETBACK_MAX_TX_ENTRIES;
    memcpy(ents, data, n * sizeof(ents[0]));
    struct netback_tx_limits lim = {.gso = true}; /* as the data plane calls it */
    static struct netback_tx_pkt pkt;
    for (unsigned int k = 1; k <= n; k++) {
        enum netback_tx_verdict v = netback_parse_tx(ents, k, &lim, &pkt);
        if (v == NETBACK_TX_MORE) {
            CHECK(k < NETBACK_MAX_TX_ENTRIES);
            continue;
        }
        CHECK(pkt.nr_entries >= 1 && pkt.nr_entries <= k);
        CHECK(!pkt.entry_is_extra[0]);
        if (v == NETBACK_TX_OK)
            check_ok(&pkt);
        else
            CHECK(v == NETBACK_TX_DROP || v == NETBACK_TX_FATAL);
        return 0;
    }
    return 0;
}
