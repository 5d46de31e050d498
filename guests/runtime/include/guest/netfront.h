/* A netfront for kxen's guests: one vif, negotiated as Linux 6.1's xen-netfront does (it
 * requires the backend's feature-rx-copy; writes tx-ring-ref, rx-ring-ref, the event
 * channel(s) -- event-channel-tx/-rx when the backend offers split channels --, request-rx-copy,
 * feature-rx-notify, feature-sg and feature-gso-tcpv4/6 in one transaction, then goes straight
 * to Connected). With several queues (as many as asked for, at most the backend's
 * multi-queue-max-queues) it writes multi-queue-num-queues and each queue's ring refs and event
 * channels under queue-N/; a frame goes out on the queue its flow hashes to and comes in on the
 * one the backend picked. Frames larger than a page span several slots each way (TX only when the
 * backend offers feature-sg); a TCP super-frame goes out with a GSO extra when the backend
 * offers GSO of its type, and one comes in with its GSO info.
 * After a resume in a new domain the vif reconnects by itself (guest_suspend's resume hooks).
 * Call from main(), never from an event handler; only netfront_queue_send/_recv may run on
 * several vCPUs at once, one vCPU per queue. */
#ifndef GUEST_NETFRONT_H
#define GUEST_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETFRONT_MTU_FRAME 1514
#define NETFRONT_MAX_FRAME 65535           /* several slots (feature-sg) */
#define NETFRONT_TIMEOUT_NS 20000000000ULL /* the handshake's bound */
#define NETFRONT_SLOT_NS 1000000000ULL     /* the rest of a frame after its first slot */

#define NETFRONT_MAX_QUEUES 4
#define NETFRONT_RX_BUFFERS 64 /* RX buffers (pages) posted on each queue */

/* Connects device/vif/<devid> with one queue; mac gets the MAC the toolstack gave the vif.
 * 0 or -XEN_E*. */
int netfront_init(unsigned devid, uint8_t mac[6]);
/* The same with up to queues queues (NETFRONT_MAX_QUEUES, the backend's offer). */
int netfront_init_queues(unsigned devid, uint8_t mac[6], unsigned queues);
/* The queues negotiated (0 before the handshake). */
unsigned netfront_nr_queues(void);
/* Queues one frame (copied; waits for free TX buffers up to deadline_ns): up to
 * NETFRONT_MAX_FRAME bytes when the backend takes several slots, else NETFRONT_MTU_FRAME. */
int netfront_send(const void *frame, size_t len, uint64_t deadline_ns);
struct netfront_txopt {
    bool csum_blank;  /* the L4 checksum is left for the backend (NETTXF_csum_blank) */
    uint8_t gso_type; /* XEN_NETIF_GSO_TYPE_*: NONE, or a super-frame cut at gso_size */
    uint16_t gso_size;
};
/* netfront_send with offloads; -XEN_EOPNOTSUPP for GSO the backend does not offer. */
int netfront_send_opt(const void *frame, size_t len, const struct netfront_txopt *opt,
                      uint64_t deadline_ns);
/* Zero-copy send on queue 0: the caller writes a frame of up to NETFRONT_MTU_FRAME bytes straight
 * into a granted TX buffer, then queues it. A buffer keeps what this frontend last sent from
 * it, so a sender that changes a few bytes a frame writes only those. netfront_send copies the
 * frame with the guest's own stores: on the soft accelerator each store is the dearest part of
 * a send. netfront_tx_buffer waits for a free buffer up to deadline_ns (0 or -XEN_E*);
 * netfront_tx_commit queues len bytes of it: -XEN_EAGAIN when the vif reconnected in between
 * (the buffer is gone), -XEN_EINVAL for a length out of range (the buffer is given back). */
struct netfront_txbuf {
    uint8_t *data; /* a page */
    uint16_t id;
    unsigned long conn;
};
int netfront_tx_buffer(struct netfront_txbuf *b, uint64_t deadline_ns);
int netfront_tx_commit(const struct netfront_txbuf *b, size_t len);
/* Receives one frame (all its slots) into buf: its length, or -XEN_ETIMEDOUT at deadline_ns
 * (0 = now). A frame that does not fit cap, or errored, is dropped and counted. */
int netfront_recv(void *buf, size_t cap, uint64_t deadline_ns);
struct netfront_rxinfo {
    uint16_t flags;   /* the first slot's NETRXF_* (csum_blank, data_validated, extra_info) */
    uint8_t gso_type; /* XEN_NETIF_GSO_TYPE_NONE unless a GSO extra came with the frame */
    uint16_t gso_size;
    uint8_t queue;   /* the queue it came in on */
    uint16_t buffer; /* the RX buffer its first slot was copied into (netfront_rx_buffer) */
};
int netfront_recv_info(void *buf, size_t cap, uint64_t deadline_ns, struct netfront_rxinfo *info);
/* One queue driven by one vCPU (a secondary vCPU takes no upcalls, so these wait by polling):
 * send on, or receive from, that queue only; the same return values as above (a frame that
 * errored is dropped and counted). Each queue may have its own vCPU. */
int netfront_queue_send(unsigned queue, const void *frame, size_t len, uint64_t deadline_ns);
int netfront_queue_recv(unsigned queue, void *buf, size_t cap, uint64_t deadline_ns);
/* Frames dropped because they were malformed or errored (backend status < 0). */
unsigned netfront_rx_errors(void);
/* Buffer id (< NETFRONT_RX_BUFFERS) of a queue, read-only: the page the backend copies frames
 * into, which keeps the last one until the next. For tests of what the backend wrote into guest
 * memory (a migration must carry it); NULL for a queue or id out of range. */
const void *netfront_rx_buffer(unsigned queue, unsigned id);
/* A queue's shared rings as their pages hold them now (the backend's response producers) and
 * how far this frontend consumed them: a page whose producer is behind what was consumed lost
 * the backend's writes. -XEN_ENODEV for a queue out of range or a vif that is down. */
struct netfront_ring_state {
    uint32_t rx_rsp_prod, rx_rsp_cons, tx_rsp_prod, tx_rsp_cons;
};
int netfront_ring_state(unsigned queue, struct netfront_ring_state *st);
/* True when the backend offers GSO of this XEN_NETIF_GSO_TYPE_*. */
bool netfront_has_gso(unsigned gso_type);
/* After netfront_init: a backend that dies (Closed, or its directory gone, while `online` is
 * not 0: a driver domain destroyed) is waited for instead of ending the vif. The frontend goes
 * Initialising; when the toolstack names a backend in InitWait the handshake runs again (new
 * rings, grants and ports). TX frames in flight are dropped and counted; send and receive
 * wait for the new backend within their deadlines. */
int netfront_follow_restarts(void);
unsigned long netfront_reconnects(void);
unsigned long netfront_tx_dropped(void); /* TX frames dropped by backend restarts */

#endif
