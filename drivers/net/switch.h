/* A learning Ethernet switch between the ports of one backend domain (vifs, and anything else
 * that delivers frames). It learns which port each source MAC lives behind, forwards a frame
 * to the one port its destination was learnt on, floods broadcast, multicast and unknown
 * destinations to every other port, and never returns a frame to the port it came from.
 * Learnt entries age out (aging_ns after they were last seen) and go with their port.
 * The table is bounded: when full, the oldest entry of the probed run is replaced.
 * Single-threaded; the caller passes the time, so tests control aging. */
#ifndef KXEN_DRIVERS_NET_SWITCH_H
#define KXEN_DRIVERS_NET_SWITCH_H

#include <stddef.h>
#include <stdint.h>

#define NET_SWITCH_FDB_SIZE 1024

/* Frame metadata carried from the sending port to the receiving one. */
#define NET_FRAME_CSUM_BLANK 1u /* the L4 checksum is still to be filled (offload) */
#define NET_FRAME_VALIDATED 2u  /* the checksum is known good */
/* A TCP super-frame (GSO) still to be cut at the MSS kept in the flags' top 16 bits: a
 * receiver that cannot take it whole segments it (gso.h). */
#define NET_FRAME_GSO_TCPV4 4u
#define NET_FRAME_GSO_TCPV6 8u
#define NET_FRAME_GSO_SHIFT 16

typedef void (*net_deliver_fn)(void *ctx, const uint8_t *frame, size_t len, unsigned int flags);

struct net_switch;
struct net_switch *net_switch_new(unsigned int max_ports, uint64_t aging_ns);
void net_switch_free(struct net_switch *sw);
/* Returns the port number (>= 0) or -ENOSPC / -EINVAL. */
int net_switch_add_port(struct net_switch *sw, net_deliver_fn deliver, void *ctx);
/* Forgets the port and every MAC learnt on it. */
void net_switch_del_port(struct net_switch *sw, int port);
/* A frame arrives on port at time now_ns. Frames shorter than an Ethernet header are
 * dropped. Returns the number of ports it was delivered to. */
unsigned int net_switch_input(struct net_switch *sw, int port, const uint8_t *frame, size_t len,
                              unsigned int flags, uint64_t now_ns);
/* The port mac was learnt on (and not aged out at now_ns), or -ENOENT. */
int net_switch_lookup(struct net_switch *sw, const uint8_t mac[6], uint64_t now_ns);
unsigned int net_switch_nr_ports(struct net_switch *sw);

#endif
