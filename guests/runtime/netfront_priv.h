/* The runtime netfront's state, shared by its three files: netfront.c (handshake, queues, data
 * path), netfront_tx.c (sending) and netfront_follow.c (a backend that dies under a running guest
 * and comes back). Not for guest programs: they use guest/netfront.h. */
#ifndef GUEST_NETFRONT_PRIV_H
#define GUEST_NETFRONT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kxen/io/netif.h>

#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/netfront.h"
#include "guest/suspend.h"

#define PAGE 4096
#define NR_TX 32
#define NR_RX NETFRONT_RX_BUFFERS

/* One queue's state. After the handshake only the vCPU driving the queue touches it. */
struct nf_queue {
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    grant_ref_t tx_gref[NR_TX], rx_gref[NR_RX];
    grant_ref_t tx_ring_ref, rx_ring_ref;
    bool tx_busy[NR_TX];
    /* The TX buffers not busy, a stack: a send takes one without a scan. */
    uint8_t tx_free[NR_TX];
    unsigned tx_nr_free;
    /* The buffer posted at each RX ring index: an extra-info slot names none of its own. */
    uint16_t rx_id_at[PAGE / sizeof(union netif_rx_sring_entry)];
    evtchn_port_t tx_port, rx_port; /* equal without split event channels */
    unsigned rx_errors;
};

struct nf_state {
    unsigned devid;
    unsigned want_queues; /* asked for by netfront_init_queues */
    unsigned nr_queues;   /* negotiated: min(want, multi-queue-max-queues) */
    unsigned rx_next;     /* where netfront_recv's search over the queues starts */
    struct guest_resume_hook resume_hook;
    domid_t backend_id;
    bool be_sg, be_gso4, be_gso6, split;
    bool up;
    char be_path[128]; /* the backend directory of the last handshake */
    struct nf_queue q[NETFRONT_MAX_QUEUES];
    /* Following a backend that dies and comes back (netfront_follow.c). */
    bool follow, waiting, be_changed;
    char token[24];
    uint8_t mac[6];
    unsigned long reconnects, tx_dropped;
    unsigned long connections; /* handshakes completed: a TX buffer's connection */
};

extern struct nf_state nf;

/* One queue's pages: both rings and its buffers. */
struct nf_pages {
    uint8_t tx_ring[PAGE];
    uint8_t rx_ring[PAGE];
    uint8_t tx_buf[NR_TX][PAGE];
    uint8_t rx_buf[NR_RX][PAGE];
};
extern struct nf_pages nf_pages[NETFRONT_MAX_QUEUES];

/* netfront.c */
int nf_read_uint(const char *path, unsigned long *out);
/* The handshake of device/vif/<nf.devid> with the backend it names; mac gets the vif's MAC. */
int nf_connect(uint8_t mac[6]);
/* Ports closed, grants forgotten, TX in flight dropped: the vif is down. */
void nf_forget_backend(void);
/* A frame's bytes into or out of a buffer page, with string instructions. */
void nf_copy_frame(void *dst, const void *src, size_t n);
/* Waits for cond: blocking on the vCPU that takes upcalls, polling on a secondary vCPU. */
int nf_wait_for(bool (*cond)(void *ctx), void *ctx, uint64_t deadline_ns, bool poll);

/* netfront_tx.c */
/* Frees the TX buffers whose responses came back; arm: an event at the next response. */
void nf_reap_tx(struct nf_queue *q, bool arm);

/* netfront_follow.c; every one is a no-op until netfront_follow_restarts. Only the vCPU that
 * takes upcalls may call them (they talk to xenstore). */
/* A wait_until condition: pumps xenstore watches; true when the backend may have moved. */
bool nf_backend_moved(void *ctx);
/* Acts on a backend change: drops a dead backend, connects to the next one when it is ready. */
void nf_follow_backend(void);
/* 0 once the vif is up, waiting up to deadline_ns (0: not at all) for a restarted backend. */
int nf_await_up(uint64_t deadline_ns);
/* After a handshake with another backend directory than old_be (a resume on another host):
 * the state watch moves to the new one. */
void nf_follow_moved(const char *old_be);

#endif
