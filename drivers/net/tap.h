/* A host tap device attached to a Linux bridge: the port a vif uses when the toolstack's
 * `bridge` key names a bridge. The tap is created non-blocking without packet information
 * (IFF_TAP | IFF_NO_PI) and with a virtio-net header on every frame (IFF_VNET_HDR), given the
 * host-side MAC fe:ff:ff:ff:ff:ff (as Xen's vif scripts do, so the bridge never takes the
 * guest's address as its own), brought up and enslaved with SIOCBRADDIF. A bridge that does
 * not exist is -ENODEV before any tap is made.
 * The header lets a guest's TCP super-frame (GSO) go to the host stack whole, to be cut by
 * the kernel (net_tap_write_gso) instead of segmented and checksummed here. No offload is
 * enabled towards us (no TUNSETOFFLOAD): frames the host hands the tap are complete, so
 * net_tap_read only strips the header. */
#ifndef KXEN_DRIVERS_NET_TAP_H
#define KXEN_DRIVERS_NET_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_TAP_NAME_MAX 16 /* IFNAMSIZ */

struct net_gso_info;

struct net_tap {
    int fd;
    int vnet_hdr; /* frames cross the fd behind a struct virtio_net_hdr */
    char name[NET_TAP_NAME_MAX];
    char bridge[NET_TAP_NAME_MAX];
};

/* 0 if bridge names an existing Linux bridge, -ENODEV if not, -EINVAL for a bad name. */
int net_tap_bridge_check(const char *bridge);
/* Makes Linux bridge `bridge` and brings it up, unless a bridge of that name exists: 0 either
 * way (another process making it at the same moment is no error); -EPERM without
 * CAP_NET_ADMIN, -EEXIST when the name is taken by an interface that is not a bridge. */
int net_tap_bridge_make(const char *bridge);
/* Creates tap `name` (mtu 0: leave the default) on bridge, or on no bridge when bridge is
 * NULL (a hotplug script enslaves it later). Returns 0 or -errno. */
int net_tap_open(struct net_tap *t, const char *name, const char *bridge, unsigned int mtu);
/* Removes it from the bridge and destroys it. */
void net_tap_close(struct net_tap *t);
/* One frame each way. read returns the length, 0 when nothing is queued, or -errno. */
ssize_t net_tap_read(struct net_tap *t, void *buf, size_t len);
int net_tap_write(struct net_tap *t, const void *frame, size_t len);
/* A TCP super-frame handed to the host stack whole, with its GSO type and MSS: the kernel
 * cuts it and fills each segment's checksum. The frame's TCP checksum field is rewritten to
 * the pseudo-header sum the kernel expects (a frontend's value is not trusted, as Xen's
 * netback recomputes it). -EOPNOTSUPP on a tap without the header, -EINVAL when the frame
 * is not segmentable as gi says (nothing written): the caller segments or drops it. */
int net_tap_write_gso(struct net_tap *t, uint8_t *frame, size_t len, const struct net_gso_info *gi);

/* The L4 header of a TCP or UDP frame over IPv4 or IPv6 (no extension headers): its offset
 * and length from the IP header, its protocol, and the pseudo-header sum without the
 * protocol and length. 0 or -EINVAL. */
struct net_l4_info {
    size_t off, len, csum_at; /* off from the frame start; csum_at within the L4 header */
    uint8_t proto;
    uint32_t pseudo;
};

int net_l4_parse(const uint8_t *f, size_t len, struct net_l4_info *out);

/* The ones' complement of the folded 16-bit sum s. */
uint16_t net_csum_fold(uint32_t s);

/* Fills a checksum that a frontend left blank (NETTXF_csum_blank): TCP or UDP over IPv4 or
 * IPv6 without extension headers. Everything is bounds-checked against len; a frame this
 * cannot parse is left unchanged and -EINVAL returned. */
int net_csum_fill(uint8_t *frame, size_t len);

#endif
