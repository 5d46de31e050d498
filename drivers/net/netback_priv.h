/* netback's internal state, shared by the control plane (netback_xenbus.c) and the data plane
 * (netback_ring.c). Ownership: a netback owns its xenbus backend, its switch and the list of
 * its vifs; a vif owns its port (switch port or tap), its queues and the packets waiting for
 * RX buffers. TX is synchronous (granted data is copied before the responses go out), so a
 * queue has nothing in flight when it is torn down. */
#ifndef KXEN_DRIVERS_NET_NETBACK_PRIV_H
#define KXEN_DRIVERS_NET_NETBACK_PRIV_H

#include <kxen/ring_safe.h>

#include "gso.h"
#include "netback.h"
#include "switch.h"
#include "tap.h"

#define NETBACK_MAX_QUEUES 16
#define NETBACK_MAX_PORTS 256
#define NETBACK_RING_SLOTS 256 /* both rings of a one-page ring */
#define NETBACK_MAX_PKT 65535u
/* Entries taken off a TX ring per event before yielding to the loop (a kick re-polls). */
#define NETBACK_TX_BUDGET (4 * NETBACK_RING_SLOTS)
/* TX packets whose grant copies go to the hypervisor in one call (netback_ring.c). */
#define NETBACK_TX_BATCH 32
/* RX frames, and their buffers at most, filled by one grant-copy call (netback_ring.c). */
#define NETBACK_RX_BATCH 32
#define NETBACK_RX_BATCH_SEGS 256

/* A frame of the RX batch: its queue and its data copies, seg[seg0 .. seg0 + ndata). */
struct netback_rx_staged {
    struct netback_queue *q;
    unsigned int seg0, ndata;
};

/* The RX batch of the vif being flushed: its FIFO's first nr frames. */
struct netback_rx_batch {
    unsigned int nr, nr_seg;
    struct netback_rx_staged frame[NETBACK_RX_BATCH];
    struct xenbus_gnttab_copy seg[NETBACK_RX_BATCH_SEGS];
    uint16_t seg_id[NETBACK_RX_BATCH_SEGS]; /* the RX request each copy answers */
};

struct netback {
    struct xenbus_platform *p;
    struct xenbus_backend *xb;
    struct netback_config cfg;
    struct net_switch *sw;
    int kick_fd; /* eventfd: work left over from a bounded loop */
    int ep_fd;   /* epoll of kick_fd and every tap: netback_fd */
    struct netback_vif *vifs;
    struct netback_stats stats;
    xenbus_log_fn log;
    void *log_ctx;
    bool shared_bridge_failed; /* logged once: vifs without a bridge use the switch */
    /* Frames for the vifs are queued, not sent, while a TX batch is delivered: each vif's
     * share then goes out in one batch (netback_vif_rx_flush_all). */
    bool rx_held;
    struct netback_rx_batch rxb;
    uint8_t tap_buf[NETBACK_MAX_PKT];
    uint8_t seg_buf[NETBACK_MAX_PKT]; /* one segment of a GSO frame being cut */
};

struct netback_queue {
    struct netback_vif *vif;
    unsigned int idx;
    netif_tx_back_ring_t tx;
    netif_rx_back_ring_t rx;
    struct kxen_ring_guard tx_guard, rx_guard;
    void *tx_sring, *rx_sring;
    int tx_port, rx_port; /* local ports (equal without split event channels), -1 unbound */
    bool dead;            /* the frontend broke the protocol on this queue */
    bool tx_more;         /* the TX budget ran out with requests left */
    /* Frames this queue carried each way: logged when the vif disconnects (shows which queues
     * a multi-queue frontend used). */
    uint64_t tx_frames, rx_frames;
    /* The entries of a TX packet whose chain the producer has not finished publishing. */
    struct netif_tx_request pend[NETBACK_MAX_TX_ENTRIES];
    unsigned int nr_pend;
    /* RX requests taken off the ring, not yet filled. */
    struct netif_rx_request stash[NETBACK_RING_SLOTS];
    unsigned int stash_head, nr_stash;
    /* The TX batch: packets parsed, their copies not yet made; packet b's bytes go to
     * pkt + txb_off[b] and its copies are txb_seg[txb_seg0[b] .. txb_seg0[b + 1]). */
    struct netback_tx_pkt txb_pkt[NETBACK_TX_BATCH];
    uint32_t txb_off[NETBACK_TX_BATCH];
    unsigned int txb_seg0[NETBACK_TX_BATCH + 1];
    struct xenbus_gnttab_copy txb_seg[NETBACK_TX_BATCH * NETBACK_MAX_TX_SLOTS];
    unsigned int nr_txb;
    uint32_t txb_used;
    uint8_t pkt[NETBACK_MAX_PKT];
};

struct netback_rxpkt {
    uint8_t *data;
    uint32_t len;
    unsigned int flags; /* NET_FRAME_*, the GSO bits only for a frontend that takes them */
};

struct netback_vif {
    struct netback *nb;
    struct xenbus_device *xdev;
    struct netback_vif *next;
    uint8_t mac[6];
    int sw_port;        /* switch port, -1 when none */
    struct net_tap tap; /* tap.fd >= 0 when the vif is on a Linux bridge */
    bool connected;
    /* What the frontend negotiated. */
    bool fe_sg, fe_csum, fe_ipv6_csum;
    bool fe_gso_v4, fe_gso_v6; /* feature-gso-tcpv4/6: RX super-frames with a GSO extra */
    unsigned int nr_queues;
    struct netback_queue *queues;
    /* Packets waiting for RX buffers: a bounded FIFO. */
    struct netback_rxpkt *rxq;
    unsigned int rxq_head, rxq_len, rxq_cap;
};

/* Data plane (netback_ring.c). */
int netback_queue_connect(struct netback_queue *q, uint32_t domid, uint32_t tx_ref, uint32_t rx_ref,
                          uint32_t tx_evtchn, uint32_t rx_evtchn, bool split);
void netback_queue_disconnect(struct netback_queue *q);
/* A frame for the vif's frontend: queued (copied), then sent as RX buffers allow. */
void netback_vif_rx(struct netback_vif *vif, const uint8_t *frame, size_t len, unsigned int flags);
void netback_vif_rx_flush(struct netback_vif *vif);
/* Sends what waits in every vif's FIFO but the sender's (after a held TX batch). */
void netback_vif_rx_flush_all(struct netback *nb, struct netback_vif *sender);
/* Queues a frame for the vif without sending it (netback_vif_rx_flush sends). */
void netback_vif_rx_queue(struct netback_vif *vif, const uint8_t *frame, size_t len,
                          unsigned int flags);
/* Runs the work a bounded loop left (TX budgets, RX backlogs). */
void netback_run_deferred(struct netback *nb);
void netback_kick(struct netback *nb);

#endif
