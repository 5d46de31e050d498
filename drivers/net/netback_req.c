/* TX packet validation: everything a frontend controls in a packet (its chain of requests and
 * extra-info entries) is checked here, on copies taken off the ring, before any grant is
 * copied. A pure function of its inputs, so the fuzz target (drivers/tests/fuzz_nettx.c)
 * drives it directly. The verdicts follow Linux's netback: a malformed packet is dropped with
 * error responses; a chain that is too long or a slot crossing its page is fatal. */
#include <string.h>

#include "netback.h"

/* Most extra-info entries after one request: one of each type. */
#define MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1)

/* Reads the extra-info entries after the first request; returns the next entry index, or a
 * verdict (as a negative number) when the chain is incomplete or broken. */
static int parse_extras(const struct netif_tx_request *ents, unsigned int n,
                        const struct netback_tx_limits *lim, struct netback_tx_pkt *out, bool *drop)
{
    unsigned int i = 1;
    for (unsigned int nr = 0;; nr++) {
        if (nr == MAX_EXTRAS)
            return -NETBACK_TX_FATAL; /* Buggy or malicious guest: an endless extra chain. */
        if (i >= n)
            return -NETBACK_TX_MORE;
        struct netif_extra_info ex;
        memcpy(&ex, &ents[i], sizeof(ex));
        out->entry_id[i] = ents[i].id;
        out->entry_is_extra[i] = true;
        i++;
        /* Buggy or malicious guest: an extra of no known type. */
        if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE || ex.type >= XEN_NETIF_EXTRA_TYPE_MAX)
            return -NETBACK_TX_FATAL;
        if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
            /* Buggy or malicious guest: GSO we did not advertise, a tiny MSS, or an unknown
             * type. */
            if (!lim->gso || ex.u.gso.size < NETBACK_GSO_MIN_MSS ||
                (ex.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
                 ex.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6))
                *drop = true;
            out->has_gso = true;
            out->gso = ex;
        }
        /* Multicast and hash extras need the control ring, which is not offered: ignored. */
        if (!(ex.flags & XEN_NETIF_EXTRA_FLAG_MORE))
            return (int)i;
    }
}

enum netback_tx_verdict netback_parse_tx(const struct netif_tx_request *ents, unsigned int n,
                                         const struct netback_tx_limits *lim,
                                         struct netback_tx_pkt *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return NETBACK_TX_MORE;
    const struct netif_tx_request *first = &ents[0];
    bool drop = false;
    out->flags = first->flags;
    out->entry_id[0] = first->id;
    unsigned int i = 1;
    if (first->flags & NETTXF_extra_info) {
        int rc = parse_extras(ents, n, lim, out, &drop);
        if (rc < 0) {
            out->nr_entries = n;
            return (enum netback_tx_verdict) - rc;
        }
        i = (unsigned int)rc;
    }
    uint32_t remaining = first->size; /* what the first slot itself carries, in the end */
    unsigned int nr = 1;
    uint16_t flags = first->flags;
    while (flags & NETTXF_more_data) {
        /* Buggy or malicious guest: more slots than any packet may use. */
        if (nr == NETBACK_MAX_TX_SLOTS) {
            out->nr_entries = i;
            return NETBACK_TX_FATAL;
        }
        if (i >= n) {
            out->nr_entries = i;
            return NETBACK_TX_MORE;
        }
        const struct netif_tx_request *r = &ents[i];
        out->entry_id[i++] = r->id;
        /* Buggy or malicious guest: a fragment crossing its page. */
        if ((uint32_t)r->offset + r->size > NETBACK_PAGE) {
            out->nr_entries = i;
            return NETBACK_TX_FATAL;
        }
        /* Buggy or malicious guest: the fragments add up to more than the packet's size. */
        if (r->size > remaining)
            drop = true;
        else
            remaining -= r->size;
        out->frag[nr++] = (struct netback_tx_frag){r->gref, r->offset, r->size};
        flags = r->flags;
    }
    out->nr_entries = i;
    out->nr_frags = nr;
    /* Buggy or malicious guest: the first slot's share crossing its page. */
    if (!drop && (uint32_t)first->offset + remaining > NETBACK_PAGE)
        return NETBACK_TX_FATAL;
    out->frag[0] = (struct netback_tx_frag){first->gref, first->offset, (uint16_t)remaining};
    out->len = first->size;
    /* Buggy or malicious guest: shorter than an Ethernet header. */
    if (drop || first->size < NETBACK_ETH_HLEN)
        return NETBACK_TX_DROP;
    return NETBACK_TX_OK;
}
