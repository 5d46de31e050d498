/* Software TCP segmentation: what netback does with a GSO packet (a TCP super-frame with one
 * Ethernet, IP and TCP header and up to 64 KiB of payload, cut at gso_size by whoever receives
 * it) when its receiver cannot take it whole: a switch port or tap whose frontend did not
 * negotiate feature-gso-tcpv4/6, or a tap, which expects wire-sized frames.
 * Everything is bounds-checked against the frame's length: the frame comes from a guest. */
#ifndef KXEN_DRIVERS_NET_GSO_H
#define KXEN_DRIVERS_NET_GSO_H

#include <stddef.h>
#include <stdint.h>

/* The smallest MSS accepted: Linux's TCP_MIN_SND_MSS. It bounds the work one packet can
 * cause (at most 65535 / 48 segments). */
#define NET_GSO_MIN_MSS 48u

struct net_gso_info {
    unsigned int type; /* XEN_NETIF_GSO_TYPE_TCPV4 / _TCPV6 */
    unsigned int size; /* the MSS */
};

/* 0 if frame (len bytes) is a TCP packet segmentable as gi says: an untagged Ethernet frame,
 * IPv4 without fragmentation or IPv6 without extension headers matching gi->type, TCP, IP
 * length consistent with len, MSS at least NET_GSO_MIN_MSS; -EINVAL otherwise. *hdr_len gets
 * the length of the headers (Ethernet + IP + TCP) when not NULL. */
int net_gso_check(const uint8_t *frame, size_t len, const struct net_gso_info *gi, size_t *hdr_len);

typedef void (*net_gso_emit_fn)(void *ctx, uint8_t *seg, size_t len);
/* Cuts a checked frame into segments of at most gi->size payload bytes, each a complete frame
 * (IP length, IPv4 id and header checksum, TCP sequence number, flags and checksum filled),
 * built in turn in scratch (room for the headers and one MSS of payload) and passed
 * to emit. FIN and PSH stay on the last segment only, CWR on the first only. Returns the
 * number of segments or -EINVAL (nothing emitted). */
int net_gso_segment(const uint8_t *frame, size_t len, const struct net_gso_info *gi,
                    uint8_t *scratch, size_t scratch_len, net_gso_emit_fn emit, void *ctx);

/* A flow hash of an Ethernet frame (IPv4/IPv6 addresses, TCP/UDP ports when present), for
 * spreading frames over a frontend's queues: one flow always lands on one queue. */
uint32_t net_flow_hash(const uint8_t *frame, size_t len);

#endif
