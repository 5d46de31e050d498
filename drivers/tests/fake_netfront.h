/* A fake Linux 6.1 xen-netfront over the fake platform, plus the toolstack's part (libxl's vif
 * layout). It negotiates as netfront does: it requires feature-rx-copy, writes (in one
 * transaction) tx-ring-ref, rx-ring-ref and event-channel (or event-channel-tx/-rx when the
 * backend offers split channels and the test asks for them), flat or under queue-N/ with
 * multi-queue-num-queues, request-rx-copy, feature-rx-notify, feature-sg, feature-gso-tcpv4/6
 * and feature-ipv6-csum-offload, then goes straight to Connected. Buffers come from fixed
 * pools of granted pages that are reused, so a long test never runs out of grants. */
#ifndef KXEN_DRIVERS_TESTS_FAKE_NETFRONT_H
#define KXEN_DRIVERS_TESTS_FAKE_NETFRONT_H

#include <stdbool.h>
#include <stdint.h>

#include <kxen/io/netif.h>

#include "../net/netback.h"
#include "fake_platform.h"

#define NF_RX_BUFS 64
#define NF_TX_PAGES NETBACK_MAX_TX_SLOTS
#define NF_MAX_QUEUES 4

struct fake_netfront {
    struct fake_platform *fp;
    struct netback *nb;
    uint32_t domid, devid;
    char fe[128], be[128];
    bool split, sg;
    bool no_gso; /* write feature-gso-tcpv4/6 = 0 (a frontend that wants segments) */
    unsigned int nr_queues;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx; /* the RX ring the helpers use: queue rx_queue's */
    uint32_t tx_port, rx_port;
    /* Every queue's RX ring and port; nf_use_rx_queue swaps one in as rx / rx_port. */
    netif_rx_front_ring_t rxs[NF_MAX_QUEUES];
    uint32_t rxs_port[NF_MAX_QUEUES];
    unsigned int rx_queue;
    unsigned int rx_page[NF_RX_BUFS];
    uint32_t rx_gref[NF_RX_BUFS];
    unsigned int tx_page[NF_TX_PAGES];
    uint32_t tx_gref[NF_TX_PAGES];
};

/* libxl's nic add: both directories in state 1. bridge NULL: none (the switch); hotplug
 * NULL: no hotplug-status written. */
void nf_toolstack_add(struct fake_platform *fp, uint32_t domid, uint32_t devid, const char *mac,
                      const char *bridge);
void nf_toolstack_remove(struct fake_platform *fp, uint32_t domid, uint32_t devid);

void nf_init(struct fake_netfront *nf, struct fake_platform *fp, struct netback *nb, uint32_t domid,
             uint32_t devid);
/* Runs the backend until pred(nf) holds (or ~2 s). */
bool nf_pump(struct fake_netfront *nf, bool (*pred)(struct fake_netfront *nf));
int nf_backend_state(struct fake_netfront *nf);
const char *nf_be_key(struct fake_netfront *nf, const char *key);
void nf_fe_write(struct fake_netfront *nf, const char *key, const char *val);
void nf_set_state(struct fake_netfront *nf, int state);
/* xennet_connect's keys and the switch to Connected; nr_queues 0 writes none of the
 * multi-queue keys. Does not wait. */
void nf_talk(struct fake_netfront *nf, unsigned int nr_queues, bool split);
/* Waits for InitWait, talks (one queue, single channel), posts RX buffers, waits for the
 * backend's Connected. */
bool nf_connect(struct fake_netfront *nf);
void nf_post_rx(struct fake_netfront *nf);
/* Posts RX buffers first..first+n-1 (of the NF_RX_BUFS) on the current RX queue. */
void nf_post_rx_range(struct fake_netfront *nf, unsigned int first, unsigned int n);
/* Makes queue q's RX ring the one nf_recv and nf_post_rx use. */
void nf_use_rx_queue(struct fake_netfront *nf, unsigned int q);
/* Sends a frame in nslots requests (sizes split evenly, first slot at offset off0);
 * returns the status of the responses (all must agree) or -100 on timeout. */
int nf_send(struct fake_netfront *nf, const void *frame, uint16_t len, unsigned int nslots,
            uint16_t off0, uint16_t txflags);
/* Pushes raw TX entries and notifies (hostile tests). */
void nf_push_raw(struct fake_netfront *nf, const struct netif_tx_request *r, unsigned int n);
bool nf_wait_tx_responses(struct fake_netfront *nf, unsigned int n, struct netif_tx_response *out);
/* Receives one frame (all its slots): its length, -1 on timeout, or the first negative
 * status. rxflags gets the first response's flags. */
int nf_recv(struct fake_netfront *nf, void *buf, size_t cap, uint16_t *rxflags);
/* nf_recv that also returns the frame's GSO extra (type XEN_NETIF_EXTRA_TYPE_NONE if none). */
int nf_recv_gso(struct fake_netfront *nf, void *buf, size_t cap, uint16_t *rxflags,
                struct netif_extra_info *gso);
/* Sends a GSO frame (a GSO extra after the first request) in nslots requests. */
int nf_send_gso(struct fake_netfront *nf, const void *frame, uint16_t len, unsigned int nslots,
                uint16_t txflags, uint8_t gso_type, uint16_t mss);
/* True if a frame (or part) is waiting after pumping briefly. */
bool nf_rx_pending(struct fake_netfront *nf);

#endif
