/* netback: the network backend, split by plane.
 *   netback_xenbus.c  the "vif" device type of the xenbus core: feature keys, the frontend's
 *                     ring keys (flat or queue-N/), the port the vif is attached to, and the
 *                     switch to Connected gated on hotplug-status=connected (as Linux's);
 *   netback_ring.c    the data plane: TX requests copied once off the ring, validated, granted
 *                     data copied into a packet buffer; RX packets copied into the frontend's
 *                     posted grants; responses;
 *   netback_req.c     TX packet validation, a pure function (fuzzed);
 *   gso.c             TCP segmentation of GSO super-frames for receivers that cannot take
 *                     them whole, and the flow hash that picks a frame's RX queue.
 * Where a packet goes: a vif is a port of the backend's learning switch (switch.h), or, when
 * the toolstack's `bridge` key names a Linux bridge, a tap device on that bridge (tap.h).
 * Single-threaded: every call comes from the backend's event loop. */
#ifndef KXEN_DRIVERS_NET_NETBACK_H
#define KXEN_DRIVERS_NET_NETBACK_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/io/netif.h>

#include "../xenbus/backend.h"

struct netback_config {
    unsigned int max_queues; /* multi-queue-max-queues (0: 1) */
    /* true: netback puts each vif's tap on its bridge itself and reports hotplug-status, the
     * part a hotplug script plays in Xen; false (as under xl): the tap is made off any bridge
     * and the vif's hotplug script enslaves it and writes hotplug-status. */
    bool hotplug_self;
    unsigned int rx_queue_len; /* packets waiting per vif for RX buffers (0: 256) */
    unsigned int aging_ms;     /* the switch's MAC aging time (0: 300 s, as Linux bridges) */
    /* true: a guest's TCP super-frame (GSO) goes to the host through the tap whole, cut by
     * the host kernel (net_tap_write_gso); false: netback cuts it and the host gets wire-sized
     * frames, whatever reads them (a packet socket on the bridge sees segments). */
    bool tap_gso;
    /* Where a vif with no `bridge` key goes. Empty: a port of this netback's own learning
     * switch, which joins only the vifs this netback serves. A name: a tap that netback puts
     * itself on this Linux bridge, made when the first such vif attaches and left in place, so
     * the vifs of every netback instance of the backend domain (one per guest under devd)
     * reach each other through the kernel's bridge, which no instance's crash takes down.
     * Where the bridge cannot be made (no CAP_NET_ADMIN) the vif falls back to the switch,
     * with a log line saying so. */
    char shared_bridge[16];
};
/* One queue, hotplug done by netback itself, 256 queued packets, 300 s aging, GSO cut by
 * netback for taps. */
void netback_config_default(struct netback_config *cfg);

struct netback;
struct netback *netback_new(struct xenbus_platform *p, const struct netback_config *cfg,
                            xenbus_log_fn log, void *log_ctx);
int netback_start(struct netback *nb);
/* Readable when netback has work besides the platform's event-channel and watch fds (tap
 * input, work a bounded loop left over): one epoll descriptor whatever vifs come and go. */
int netback_fd(struct netback *nb);
/* Handles xenstore events, fired event channels and tap input (bounded per call). Returns the
 * number of events handled or a negative errno. */
int netback_poll(struct netback *nb);
void netback_free(struct netback *nb);
struct xenbus_backend *netback_xenbus(struct netback *nb);

/* Counters of the whole backend (tests, benchmarks). */
struct netback_stats {
    uint64_t tx_packets, tx_bytes, tx_errors;  /* from frontends */
    uint64_t rx_packets, rx_bytes, rx_dropped; /* to frontends */
};
void netback_get_stats(struct netback *nb, struct netback_stats *st);

/* ---- TX packet validation (netback_req.c) --------------------------------------------------- */
/* The most ring entries one packet may span: XEN_NETIF_NR_SLOTS_MIN data slots (Linux's fatal
 * limit) and one extra info of each type. */
#define NETBACK_MAX_TX_SLOTS XEN_NETIF_NR_SLOTS_MIN
#define NETBACK_MAX_TX_ENTRIES (NETBACK_MAX_TX_SLOTS + XEN_NETIF_EXTRA_TYPE_MAX)
#define NETBACK_ETH_HLEN 14
#define NETBACK_PAGE 4096u

/* The smallest GSO MSS accepted (as gso.h's NET_GSO_MIN_MSS): bounds the segments per packet. */
#define NETBACK_GSO_MIN_MSS 48u

struct netback_tx_limits {
    bool gso; /* GSO extra info accepted */
};

struct netback_tx_frag {
    grant_ref_t gref;
    uint16_t offset, len;
};

struct netback_tx_pkt {
    unsigned int nr_entries; /* ring entries the packet spans (data slots and extras) */
    unsigned int nr_frags;
    uint32_t len;   /* the packet's length: the sum of the fragments */
    uint16_t flags; /* the first request's NETTXF_* */
    bool has_gso;
    struct netif_extra_info gso;
    uint16_t entry_id[NETBACK_MAX_TX_ENTRIES]; /* id to answer per entry */
    bool entry_is_extra[NETBACK_MAX_TX_ENTRIES];
    struct netback_tx_frag frag[NETBACK_MAX_TX_SLOTS];
};

enum netback_tx_verdict {
    NETBACK_TX_OK,    /* a valid packet of out->nr_entries entries */
    NETBACK_TX_MORE,  /* the packet continues past the n entries given */
    NETBACK_TX_DROP,  /* malformed: answer each of out->nr_entries entries with an error */
    NETBACK_TX_FATAL, /* the frontend broke the protocol: the ring is dead */
};
/* ents: copies of n consecutive ring entries starting at a packet's first request (extras
 * are entries too: their bytes are read as struct netif_extra_info). */
enum netback_tx_verdict netback_parse_tx(const struct netif_tx_request *ents, unsigned int n,
                                         const struct netback_tx_limits *lim,
                                         struct netback_tx_pkt *out);

#endif
