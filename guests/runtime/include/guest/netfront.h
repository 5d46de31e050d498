/* A netfront for kxen's guests: one vif, negotiated as Linux 6.1's xen-netfront does (it
 * requires the backend's feature-rx-copy; writes tx-ring-ref, rx-ring-ref, event-channel,
 * request-rx-copy, feature-rx-notify in one transaction, then goes straight to Connected) but
 * without scatter-gather: every frame is one slot each way (at most NETFRONT_MTU_FRAME bytes).
 * Single-threaded: call from main(), never from an event handler. */
#ifndef GUEST_NETFRONT_H
#define GUEST_NETFRONT_H

#include <stddef.h>
#include <stdint.h>

#define NETFRONT_MTU_FRAME 1514
#define NETFRONT_TIMEOUT_NS 20000000000ULL /* the handshake's bound */

/* Connects device/vif/<devid>; mac gets the MAC the toolstack gave the vif. 0 or -XEN_E*. */
int netfront_init(unsigned devid, uint8_t mac[6]);
/* Queues one frame (copied; waits for a free TX buffer up to deadline_ns). */
int netfront_send(const void *frame, size_t len, uint64_t deadline_ns);
/* Receives one frame into buf: its length, or -XEN_ETIMEDOUT at deadline_ns (0 = now). */
int netfront_recv(void *buf, size_t cap, uint64_t deadline_ns);
/* Frames dropped because they were malformed or errored (backend status < 0). */
unsigned netfront_rx_errors(void);

#endif
